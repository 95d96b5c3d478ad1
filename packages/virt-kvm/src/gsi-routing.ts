/**
 * The VM's GSI routing table. KVM only takes the whole table (KVM_SET_GSI_ROUTING), so this keeps
 * two copies: `desired` (what the routes want) and `committed` (exactly what the kernel has, since
 * it changes only after the ioctl succeeds). A commit pushes the default legacy routes that
 * KVM_CREATE_IRQCHIP installed, then every MSI route.
 */
import { type MsiMessage, type SlotAllocator, sameMsi } from '@tsvmm/virt';
import { type Syscalls, check, kvm } from '@tsvmm/linux-sys';

const { KVM_IRQ_ROUTING, KVM_IRQ_ROUTING_ENTRY: E, KVM_SET_GSI_ROUTING } = kvm;
const F = E.fields;

interface LegacyRoute {
  readonly gsi: number;
  readonly irqchip: number;
  readonly pin: number;
}

/**
 * The routes KVM_CREATE_IRQCHIP installs on x86 (kvm_setup_default_irq_routing): GSIs 0-15 reach
 * both the PIC (master for 0-7, slave for 8-15) and the IOAPIC; GSIs 16-23 only the IOAPIC.
 * Every pushed table keeps them, so the legacy pins keep working.
 */
export const LEGACY_ROUTES: readonly LegacyRoute[] = Object.freeze(
  Array.from({ length: 24 }, (_, gsi) => {
    const ioapic = { gsi, irqchip: kvm.KVM_IRQCHIP_IOAPIC, pin: gsi };
    if (gsi >= 16) return [ioapic];
    const pic = { gsi, irqchip: gsi < 8 ? kvm.KVM_IRQCHIP_PIC_MASTER : kvm.KVM_IRQCHIP_PIC_SLAVE, pin: gsi % 8 };
    return [ioapic, pic];
  }).flat(),
);

/** The first GSI handed to irqfd routes: 0-23 are the legacy pins. */
export const FIRST_MSI_GSI = 24;

export class GsiRoutingTable {
  /** Most entries the kernel takes in one table (KVM_MAX_IRQ_ROUTES). */
  readonly maxEntries: number;
  /** Most MSI routes: the entry limit minus the legacy routes. */
  readonly maxMsiRoutes: number;
  private desired = new Map<number, MsiMessage>();
  private committed = new Map<number, MsiMessage>();
  private dirty = false;
  private commits = 0;
  /** GSIs whose owner is gone but whose route the kernel may still have: freed after a commit drops them. */
  private readonly retired = new Set<number>();
  private readonly bytes: Uint8Array;
  private readonly view: DataView;

  constructor(
    private readonly sys: Syscalls,
    private readonly vmFd: number,
    private readonly gsis: SlotAllocator,
    maxEntries: number,
  ) {
    this.maxEntries = maxEntries;
    this.maxMsiRoutes = maxEntries - LEGACY_ROUTES.length;
    this.bytes = new Uint8Array(KVM_IRQ_ROUTING.size + E.size * maxEntries);
    this.view = new DataView(this.bytes.buffer);
    for (let i = 0; i < LEGACY_ROUTES.length; i++) {
      const r = LEGACY_ROUTES[i]!;
      const at = KVM_IRQ_ROUTING.size + i * E.size;
      this.view.setUint32(at + F.gsi.offset, r.gsi, true);
      this.view.setUint32(at + F.type.offset, kvm.KVM_IRQ_ROUTING_IRQCHIP, true);
      this.view.setUint32(at + F.irqchip.offset, r.irqchip, true);
      this.view.setUint32(at + F.pin.offset, r.pin, true);
    }
  }

  get commitCount(): number {
    return this.commits;
  }

  /** True when `desired` differs from what the kernel has. */
  get pending(): boolean {
    return this.dirty;
  }

  /** GSIs retired but not yet freed (their removal is not committed yet). */
  get retiredCount(): number {
    return this.retired.size;
  }

  /** What the kernel has now, per GSI (legacy routes not included). */
  kernelRoutes(): ReadonlyMap<number, MsiMessage> {
    return new Map(this.committed);
  }

  desiredMsi(gsi: number): MsiMessage | undefined {
    return this.desired.get(gsi);
  }

  kernelMsi(gsi: number): MsiMessage | undefined {
    return this.committed.get(gsi);
  }

  set(gsi: number, msi: MsiMessage | undefined): void {
    const old = this.desired.get(gsi);
    if (msi === undefined) {
      if (old === undefined) return;
      this.desired.delete(gsi);
    } else {
      if (old !== undefined && sameMsi(old, msi)) return;
      this.desired.set(gsi, msi);
    }
    this.dirty = true;
  }

  /** Recomputes whether a commit is needed (after a rollback put entries back). */
  recheck(): void {
    this.dirty = this.desired.size !== this.committed.size;
    if (this.dirty) return;
    for (const [gsi, m] of this.desired) {
      const k = this.committed.get(gsi);
      if (k === undefined || !sameMsi(k, m)) {
        this.dirty = true;
        return;
      }
    }
  }

  /** The route owning `gsi` is gone: drop its entry; free the GSI once no committed table has it. */
  retire(gsi: number): void {
    this.set(gsi, undefined);
    if (this.committed.has(gsi)) this.retired.add(gsi);
    else this.gsis.release(gsi);
  }

  /** Pushes `desired` if it differs from the kernel's table. Throws a typed error; nothing changes then. */
  commit(operation: string): void {
    if (!this.dirty) return;
    const header = KVM_IRQ_ROUTING.size;
    let n = LEGACY_ROUTES.length;
    this.bytes.fill(0, header + n * E.size, header + (n + this.desired.size) * E.size);
    for (const [gsi, m] of this.desired) {
      const at = header + n * E.size;
      this.view.setUint32(at + F.gsi.offset, gsi, true);
      this.view.setUint32(at + F.type.offset, kvm.KVM_IRQ_ROUTING_MSI, true);
      this.view.setUint32(at + F.msiAddressLo.offset, m.addressLo >>> 0, true);
      this.view.setUint32(at + F.msiAddressHi.offset, m.addressHi >>> 0, true);
      this.view.setUint32(at + F.msiData.offset, m.data >>> 0, true);
      n++;
    }
    this.view.setUint32(KVM_IRQ_ROUTING.fields.nr.offset, n, true);
    this.view.setUint32(KVM_IRQ_ROUTING.fields.flags.offset, 0, true);
    check(this.sys.ioctl(this.vmFd, KVM_SET_GSI_ROUTING, this.bytes), operation, `ioctl(KVM_SET_GSI_ROUTING, ${n} entries)`, {
      outcome: 'The kernel kept its previous routing table and every route is as it was before this call.',
    });
    this.commits++;
    this.committed = new Map(this.desired);
    this.dirty = false;
    for (const gsi of this.retired) {
      if (!this.committed.has(gsi)) {
        this.retired.delete(gsi);
        this.gsis.release(gsi);
      }
    }
  }
}
