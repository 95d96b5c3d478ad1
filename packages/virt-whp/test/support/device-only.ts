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
  {
    check:
      'x2APIC partitions (LocalApicEmulationMode X2Apic, 257 VPs): delivery to APIC ID 256 through the 32-bit Destination of triggers and WHvRequestInterrupt, and the ID register of the InterruptControllerState2 page',
    why: "WHP documents neither how that page holds an X2Apic partition's 32-bit ID nor whether a VP is reached at its 32-bit ID before its guest switches the local APIC to x2APIC mode; the model assumes the whole ID at 0x20 and delivery by 32-bit ID",
  },
];
