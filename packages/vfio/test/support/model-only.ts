/**
 * `it` for a body that needs the model's device, layout or knobs: on the model it runs; on a real
 * device it is reported skipped, on stderr with the reason as it happens, never counted as a pass.
 */
export function modelOnly(target: { readonly real: boolean }, why: string): (name: string, fn: () => void) => void {
  if (!target.real) return it;
  return (name: string): void => {
    process.stderr.write(`SKIPPED "${name}" on the real device: model only (${why})\n`);
    it.skip(`${name} (model only: ${why})`, () => undefined);
  };
}
