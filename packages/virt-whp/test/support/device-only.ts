/**
 * What a run without the Windows Hypervisor Platform cannot check, one entry per `target.real`
 * branch (or Windows-only path) of the behaviour tests, with why the native model cannot stand in.
 * Printed once at the end of a run that skipped Windows (./device-only-report, the jest global
 * teardown).
 */
export const DEVICE_ONLY: ReadonlyArray<{ readonly check: string; readonly why: string }> = [
  {
    check:
      'the conformance suite on WinHvPlatform.dll and kernel32.dll themselves: triggers (WHvCreateTrigger, WHvUpdateTriggerParameters, WHvDeleteTrigger) delivering their event\'s signals, WHvRequestInterrupt, and the xAPIC page read back with WHvGetVirtualProcessorState',
    why: 'the model is written from the documentation and loaded on Linux through the same koffi declarations, so only Windows runs the real DLLs, its hypervisor, and the Windows x64 calling convention',
  },
  {
    check: "which of the undocumented trigger-event behaviours WHP has: whether a deleted trigger's event keeps a signal, and whether trigger events are manual- or auto-reset (reported by the run)",
    why: 'the documentation is silent; the model has a switch for each and every body runs under every setting, but only Windows says which setting is true',
  },
];
