module volumed.test/nomadgo

go 1.22

require github.com/hashicorp/nomad/api v0.0.0-20261016150620-df630b26e78a
