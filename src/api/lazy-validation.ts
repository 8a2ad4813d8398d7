// Route schemas compiled on a route's first request instead of at start-up.
// Four API surfaces declare a few hundred request schemas; compiling them all
// with Ajv was a quarter of the time from `volumed serve` to listening, which
// a restart after a crash waits through before it resumes any task. Each
// validator is still Fastify's own Ajv compiler with the server's options,
// except that bodies are never coerced: a JSON body says what type each value
// is, so `"sizeBytes": true` is a wrong type, not 1 (query strings and
// params are text, and are coerced). A dialect that takes a string for a
// number (Cinder's `"size": "1"`) says so in its own schema.

import { AjvCompiler } from '@fastify/ajv-compiler';

type RouteSchema = Parameters<ReturnType<ReturnType<typeof AjvCompiler>>>[0];
type Validator = ReturnType<ReturnType<ReturnType<typeof AjvCompiler>>>;
type BuildValidator = ReturnType<typeof AjvCompiler>;

/** Fastify's `schemaController.compilersFactory.buildValidator`, compiling each schema when first used. */
export function lazyValidatorBuilder(): BuildValidator {
  const eager = AjvCompiler();
  return (externalSchemas, options) => {
    const build = eager(externalSchemas, options);
    const buildStrict = eager(externalSchemas, { ...options, customOptions: { ...options?.customOptions, coerceTypes: false } } as typeof options);
    return (route: RouteSchema) => {
      let compiled: Validator | undefined;
      const compile = (): Validator => (compiled ??= (route as { httpPart?: string }).httpPart === 'body' ? buildStrict(route) : build(route));
      const validate = function (this: unknown, ...args: unknown[]) {
        const fn = compile();
        const ok = (fn as (...a: unknown[]) => unknown).apply(this, args);
        validate.errors = fn.errors ?? null;
        return ok;
      } as unknown as Validator & { errors: Validator['errors'] };
      // Fastify asks for `schemaEnv` to hand Ajv the parent of the value, so coercion can replace it.
      Object.defineProperty(validate, 'schemaEnv', { get: () => (compile() as Validator & { schemaEnv?: unknown }).schemaEnv });
      return validate;
    };
  };
}
