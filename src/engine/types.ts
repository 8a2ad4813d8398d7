// Volume types (Cinder volume type = CNS storage policy): name, extra specs.

import { newId } from './ids.js';
import { InvalidStateError, NotFoundError } from '../domain/errors.js';
import type { VolumeType } from '../domain/types.js';
import { checkLabels, checkName } from '../domain/validation.js';
import type { EngineContext } from './context.js';

export interface TypeInput {
  readonly name: string;
  readonly description?: string;
  readonly isPublic?: boolean;
  readonly extraSpecs?: Readonly<Record<string, string>>;
}

export const typesApi = {
  create(ctx: EngineContext, input: TypeInput): Promise<VolumeType> {
    const name = checkName(input.name);
    const extraSpecs = checkLabels(input.extraSpecs, 'extraSpecs');
    return ctx.store.transact((tx) =>
      tx.insertType({ id: newId(), name, description: input.description ?? '', isPublic: input.isPublic ?? true, extraSpecs }),
    );
  },

  update(ctx: EngineContext, id: string, patch: Partial<TypeInput>): Promise<VolumeType> {
    return ctx.store.transact((tx) =>
      tx.updateType(id, {
        ...(patch.name !== undefined ? { name: checkName(patch.name) } : {}),
        ...(patch.description !== undefined ? { description: patch.description } : {}),
        ...(patch.isPublic !== undefined ? { isPublic: patch.isPublic } : {}),
        ...(patch.extraSpecs !== undefined ? { extraSpecs: checkLabels(patch.extraSpecs, 'extraSpecs') } : {}),
      }),
    );
  },

  /** A type in use stays: Cinder refuses to delete it too. */
  remove(ctx: EngineContext, id: string): Promise<void> {
    return ctx.store.transact(async (tx) => {
      const type = await tx.getType(id);
      if (!type) throw new NotFoundError('type', id);
      const users = await tx.listVolumes({ typeId: type.id, limit: 1 });
      if (users.items.length) throw new InvalidStateError({ type: 'type', id: type.id }, 'delete volume type', 'in-use', `volume ${users.items[0]?.id ?? ''} uses it`);
      await tx.deleteType(type.id);
    });
  },
};
