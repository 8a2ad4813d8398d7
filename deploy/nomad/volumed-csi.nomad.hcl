# volumed as a CSI plugin for Nomad: one monolith task per client node
# (controller and node in one process), against a running volumed.
# Register volumes with `nomad volume create` and plugin_id = "volumed".
job "volumed-csi" {
  type = "system"

  group "plugin" {
    task "volumed" {
      # Bind mounts and loop devices need a privileged container.
      driver = "docker"

      config {
        image      = "registry.example.com/volumed:0.1.0"
        privileged = true
        args = [
          "--server", "http://volumed.service.consul:8776",
          "csi-plugin",
          "--endpoint", "unix:///csi/csi.sock",
          "--node-id", "${node.unique.name}",
        ]
      }

      env {
        VOLUMED_TOKEN = "replace-with-a-volumed-token-secret"
      }

      csi_plugin {
        id        = "volumed"
        type      = "monolith"
        mount_dir = "/csi"
      }

      resources {
        cpu    = 200
        memory = 256
      }
    }
  }
}
