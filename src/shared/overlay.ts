/** Layered options: defaults, then the overrides of ever narrower scopes. */

/**
 * `base` with each layer's defined fields over it, in order. `base` itself when no layer says
 * anything: options are only read, so every point without overrides shares one object (issue 15:
 * six option objects and their boxed numbers per point were ~3 MB of heap at 5,000 points).
 */
export function overlay<T extends object>(base: T, ...layers: (object | undefined)[]): T {
  if (layers.every((l) => l === undefined)) return base;
  const out = { ...base };
  for (const l of layers)
    if (l) for (const [k, v] of Object.entries(l)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
