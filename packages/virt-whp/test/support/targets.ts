/**
 * The hypervisors every behaviour test runs on: the native WHP model (native/whp_model.c, loaded
 * through the same koffi declarations as WinHvPlatform.dll) always, and the real Windows Hypervisor
 * Platform on Windows x64 with WHP enabled. One test body per behaviour, run once per target by
 * {@link describeOnTargets}, and within a target once per {@link WhpConfiguration}: on the model,
 * each build variant under every setting of what the WHP documentation leaves open; on Windows, the
 * one configuration the host has. What only Windows can show is listed in {@link DEVICE_ONLY}, and
 * printed when the Windows half is skipped.
 */
import { type WhpLibraryPaths, WhpPartition, type WhpPartitionOptions, type WhpProbe, probe } from '../../src';
import { SYSTEM_LIBRARIES } from '../../src/implement';
import { type ModelVariant, SWITCH_SETTINGS, type WhpModel, applySettings, whpModel } from './native-model';
import { TEST_IN_FLIGHT_WAIT_MS } from './whp-calls';

export { DEVICE_ONLY } from './device-only';

const WINDOWS = 'real WHP (Windows x64)';

/** One setting of the switches for what WHP does not document (see ../model). */
export type SwitchSetting = (typeof SWITCH_SETTINGS)[number];

/** The APIC options a test may add to a partition. */
export type ApicOptions = Pick<WhpPartitionOptions, 'x2apic' | 'apicIds'>;

/** One configuration of a target that every body runs under. */
export interface WhpConfiguration {
  /** In every test title: the model's variant and switch setting, or what Windows is. */
  readonly name: string;
  /** Model: the switches this configuration sets; undefined on Windows, where they are whatever WHP does. */
  readonly settings: SwitchSetting | undefined;
  /** The WHP and kernel32 libraries a partition loads. */
  readonly library: WhpLibraryPaths;
  /** Model: forgets every object, count and fault, and sets this configuration's switches. Nothing on Windows. */
  prepare(): void;
  /** A partition with `vcpus` VPs (default 2), after {@link prepare}; `apic` adds the x2APIC options. */
  create(vcpus?: number, apic?: ApicOptions): WhpPartition;
  /** The model under this configuration. Only in `!target.real` branches: Windows has none. */
  model(): WhpModel;
}

/** One hypervisor the behaviour tests run on. */
export interface WhpTarget {
  /** `WHP model` or `real WHP (Windows x64)`: in every test title. */
  readonly name: string;
  /** True on Windows: then the hypervisor's own state cannot be read back, and what it leaves undocumented is not known in advance. */
  readonly real: boolean;
  readonly configurations: readonly WhpConfiguration[];
}

const VARIANT_NAMES: Record<Extract<ModelVariant, 'full' | 'no-update'>, string> = {
  full: 'with WHvUpdateTriggerParameters',
  'no-update': 'without WHvUpdateTriggerParameters',
};

function modelConfiguration(variant: keyof typeof VARIANT_NAMES, settings: SwitchSetting): WhpConfiguration {
  // Built with cc on first use, so a file that never runs a body never compiles the model.
  const model = (): WhpModel => whpModel(variant);
  return {
    name: `${VARIANT_NAMES[variant]}; ${settings.name}`,
    settings,
    get library() {
      return model().library;
    },
    prepare() {
      const m = model();
      m.reset();
      applySettings(m, settings);
    },
    create(vcpus = 2, apic = {}) {
      this.prepare();
      return WhpPartition.create({ vcpus, ...apic, library: model().library, inFlightWaitMs: TEST_IN_FLIGHT_WAIT_MS });
    },
    model,
  };
}

function modelTarget(): WhpTarget {
  return {
    name: 'WHP model',
    real: false,
    configurations: (['full', 'no-update'] as const).flatMap((variant) => SWITCH_SETTINGS.map((s) => modelConfiguration(variant, s))),
  };
}

function windowsTarget(): WhpTarget {
  return {
    name: WINDOWS,
    real: true,
    configurations: [
      {
        name: 'as this Windows does it',
        settings: undefined,
        library: SYSTEM_LIBRARIES,
        prepare: () => undefined,
        create: (vcpus = 2, apic = {}) => WhpPartition.create({ vcpus, ...apic }),
        model() {
          throw new Error('Windows has no model: read the model only where !target.real');
        },
      },
    ],
  };
}


let windows: WhpProbe | undefined;

/** Whether this host has a working WHP (Windows x64, the feature enabled), and why not; asked once. */
export function windowsProbe(): WhpProbe {
  windows ??= probe();
  return windows;
}

/** The model target, and the Windows target where WHP works. */
export function whpTargets(): WhpTarget[] {
  return windowsProbe().available ? [modelTarget(), windowsTarget()] : [modelTarget()];
}

/**
 * `describe(name)` once per target, the target's name in the title. The Windows half runs only
 * where WHP works; anywhere else it is one skipped test naming the reason, and one `SKIPPED` line
 * (and the {@link DEVICE_ONLY} list, once per run): a skip is never a pass.
 */
export function describeOnTargets(name: string, body: (target: WhpTarget) => void): void {
  describe(`${name} (WHP model)`, () => body(modelTarget()));
  describeOnWindows(`${name} (${WINDOWS})`, () => body(windowsTarget()));
}

/** `describe` where WHP works; otherwise a loud skip with the reason. */
export function describeOnWindows(name: string, fn: () => void): void {
  const found = windowsProbe();
  if (found.available) {
    describe(name, fn);
    return;
  }
  process.stderr.write(`SKIPPED "${name}": ${found.reason}\n`);
  describe(name, () => {
    it.skip(`needs Windows x64 with the Windows Hypervisor Platform: ${found.reason}`, () => undefined);
  });
}
