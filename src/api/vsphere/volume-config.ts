// CnsUpdateVolumeMetadata, CnsConfigureVolumeACLs, CnsReconfigVolumePolicy and
// CnsRelocateVolume. Metadata and access rules change at once (their items
// succeed when the call answers); a policy change and a relocation are
// engine tasks (a relocation copies the bytes and verifies their checksum).

import { InvalidInputError } from '../../domain/errors.js';
import { mayAct, namedVolume, plainResult, profileOf, type SpecMethod } from './methods.js';
import { aclRuleOf, metadataUpdateOf } from './provisioning.js';
import { AclConfigureSpec, MetadataUpdateSpec, PolicyReconfigSpec, RelocateSpec, specChecker } from './schemas.js';

const checkMetadata = specChecker(MetadataUpdateSpec);
const checkAcl = specChecker(AclConfigureSpec);
const checkPolicy = specChecker(PolicyReconfigSpec);
const checkRelocate = specChecker(RelocateSpec);

const updateVolumeMetadata: SpecMethod = {
  specsKey: 'updateSpecs',
  volumeIdOf: namedVolume,
  names: {},
  async run(call, raw) {
    const spec = checkMetadata(raw);
    await mayAct(call, 'write-volume', spec.volumeId.id);
    const volume = await call.volumed.engine.updateClusterMetadata(spec.volumeId.id, metadataUpdateOf(spec.metadata), 'metadata');
    return { resourceId: volume.id };
  },
  result: plainResult,
};

const configureVolumeAcls: SpecMethod = {
  specsKey: 'ACLConfigSpecs',
  volumeIdOf: namedVolume,
  names: {},
  async run(call, raw) {
    const spec = checkAcl(raw);
    await mayAct(call, 'write-volume', spec.volumeId.id);
    const changes = spec.accessControlSpecList.map((c) => ({ rule: aclRuleOf(c.netPermission), delete: c.delete === true }));
    const volume = await call.volumed.engine.configureAccessRules(spec.volumeId.id, changes, (i) => `accessControlSpecList[${i}].netPermission`);
    return { resourceId: volume.id };
  },
  result: plainResult,
};

const reconfigVolumePolicy: SpecMethod = {
  specsKey: 'volumePolicyReconfigSpecs',
  volumeIdOf: namedVolume,
  names: { type: 'profile[0].profileId' },
  async run(call, raw) {
    const spec = checkPolicy(raw);
    await mayAct(call, 'write-volume', spec.volumeId.id);
    const type = profileOf(spec.profile);
    if (!type) throw new InvalidInputError('name the new storage policy', 'type');
    // The volume stays where it is; its compliance says whether its pool satisfies the new policy.
    const { task } = await call.volumed.engine.retypeVolume(spec.volumeId.id, { type, migrationPolicy: 'never', allowNonCompliant: true });
    return { resourceId: spec.volumeId.id, task };
  },
  result: plainResult,
};

const relocateVolume: SpecMethod = {
  specsKey: 'relocateSpecs',
  volumeIdOf: namedVolume,
  names: { pool: 'datastore', type: 'profile[0].profileId' },
  async run(call, raw) {
    const spec = checkRelocate(raw);
    await mayAct(call, 'write-volume', spec.volumeId.id);
    const type = profileOf(spec.profile);
    const { task } = await call.volumed.engine.migrateVolume(spec.volumeId.id, { pool: spec.datastore.value, ...(type ? { type } : {}) });
    return { resourceId: spec.volumeId.id, task };
  },
  result: plainResult,
};

export const configMethods = {
  CnsUpdateVolumeMetadata: updateVolumeMetadata,
  CnsConfigureVolumeACLs: configureVolumeAcls,
  CnsReconfigVolumePolicy: reconfigVolumePolicy,
  CnsRelocateVolume: relocateVolume,
} as const;
