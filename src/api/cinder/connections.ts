// Connection info in Cinder's shape ({driver_volume_type, data}), from what
// a driver's publish returned. File pools are os-brick's `local` connector.

import type { Attachment } from '../../domain/types.js';

export function connectionInfo(a: Attachment): Record<string, unknown> | null {
  const info = a.connectionInfo;
  if (!info) return null;
  const { driverVolumeType, path, readonly, ...rest } = info as { driverVolumeType?: unknown; path?: unknown; readonly?: unknown };
  return {
    driver_volume_type: driverVolumeType === 'file' ? 'local' : (driverVolumeType ?? 'unknown'),
    data: {
      ...rest,
      ...(typeof path === 'string' ? { device_path: path } : {}),
      access_mode: readonly === true || a.mode === 'ro' ? 'ro' : 'rw',
      volume_id: a.volumeId,
      attachment_id: a.id,
    },
  };
}

/** The attachment of a volume on a host (Cinder's connector names the host). */
export function attachmentOnHost(attachments: readonly Attachment[], host: string): Attachment | undefined {
  return attachments.find((a) => a.node === host && (a.status === 'attached' || a.status === 'attaching'));
}
