/*
 * A model of WinHvPlatform.dll and of the kernel32 event functions, for tests on Linux: the
 * backend loads this library through the same koffi declarations as the real DLLs, so struct
 * encoding, out-parameters and handle types are exercised for real (only the calling convention
 * differs from Windows).
 *
 * Written from the reference (WinHvPlatform.h, WinHvPlatformDefs.h, the WHP and kernel32
 * documentation), decoding raw bytes at the documented offsets:
 *   WHV_INTERRUPT_CONTROL (16 bytes): u64 word @0 (Type 0-7, DestinationMode 8-11, TriggerMode
 *   12-15, TargetVtl 16-23, rest reserved), Destination u32 @8, Vector u32 @12.
 *   WHV_TRIGGER_PARAMETERS (32 bytes): TriggerType u32 @0, Reserved u32 @4, Interrupt @8.
 *   xAPIC page (InterruptControllerState2, 4096 bytes): ID @0x20 (bits 31:24), SVR @0xF0,
 *   ISR @0x100, TMR @0x180, IRR @0x200, 32 bits per 16-byte row.
 *   LocalApicEmulationMode (0x1005): None 0, XApic 1, X2Apic 2; E_INVALIDARG for anything else.
 *
 * x2APIC (LocalApicEmulationMode X2Apic): Destination is the 32-bit APIC ID (0xFFFFFFFF
 * broadcasts; logical destinations are x2APIC cluster IDs, cluster = ID >> 4 in bits 31:16, one
 * bit per member ID & 15 in bits 15:0, Intel SDM "Logical Destination Mode in x2APIC Mode"), and
 * VP i has APIC ID i. Not documented by WHP, and the model's assumptions until a Windows run
 * shows otherwise: the page's ID register at 0x20 then holds the whole 32-bit ID (as the x2APIC
 * ID register reads), and a VP is reached at its 32-bit ID without its guest first switching the
 * APIC to x2APIC mode.
 *
 * Semantics modelled: partitions, properties before setup (E_INVALIDARG after), VPs, the
 * capability probe, WHvRequestInterrupt, triggers whose event the model creates (the caller owns
 * and closes it), deletion that closes no event, deletion of a partition deleting its triggers,
 * asynchronous delivery on a model thread (the event is consumed and the interrupt written into
 * the VP's page atomically with respect to every other call), and HRESULTs for bad parameters and
 * bad handles. Where the documentation says nothing, the behaviour is a switch (model_configure):
 *   "manual_reset"                 trigger events are manual-reset (1) or auto-reset (0, default)
 *   "deleted_event_keeps_signal"   a deleted trigger's event behaves as a plain event (1, default),
 *                                  or is reset at deletion and swallows later signals (0)
 *   "create_trigger_needs_setup"   WHvCreateTrigger before WHvSetupPartition fails (1) or works (0)
 *   "hold_delivery"                the model thread delivers nothing until set back to 0 (a signal
 *                                  then stays in flight, for tests)
 *   "hypervisor_present"           WHvGetCapability(0) answers TRUE (1, default) or FALSE (0)
 *   "delivery_delay_ms"            the model thread takes signals this long after they are raised
 * The HRESULT for a bad handle is not documented; the model answers E_HANDLE.
 *
 * Build variants: -DWHP_MODEL_NO_UPDATE (no WHvUpdateTriggerParameters export),
 * -DWHP_MODEL_NO_TRIGGERS (none of the three trigger exports), as Windows before 20H2.
 *
 * Test controls: model_fail (fail the Nth next call of a function), model_calls (calls per
 * function), and a handle ledger (open events, closes of a handle already closed or never
 * created, events closed while their trigger is alive, uses of a closed handle).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>

typedef int32_t HRESULT;
typedef uint64_t HANDLE;

#define S_OK 0
#define E_INVALIDARG ((HRESULT)0x80070057u)
#define E_HANDLE ((HRESULT)0x80070006u)
#define E_OUTOFMEMORY ((HRESULT)0x8007000Eu)
#define WHV_E_UNKNOWN_CAPABILITY ((HRESULT)0x80370300u)
#define WHV_E_INSUFFICIENT_BUFFER ((HRESULT)0x80370301u)
#define WHV_E_UNKNOWN_PROPERTY ((HRESULT)0x80370302u)
#define WHV_E_INVALID_PARTITION_CONFIG ((HRESULT)0x80370304u)
#define WHV_E_VP_DOES_NOT_EXIST ((HRESULT)0x80370307u)
#define ERROR_HV_INVALID_VP_INDEX ((HRESULT)0xC035000Eu)

#define WAIT_OBJECT_0 0u
#define WAIT_TIMEOUT 0x102u
#define WAIT_FAILED 0xFFFFFFFFu
#define INFINITE 0xFFFFFFFFu

#define MAX_EVENTS 65536
#define MAX_TRIGGERS 65536
#define MAX_PARTITIONS 4096
#define MAX_VPS 1024 /* the model's own bound on ProcessorCount (WHP documents none) */
#define PAGE 4096

#define EVENT_BASE 0x100ull
#define PARTITION_BASE 0x7F0000000000ull
#define TRIGGER_BASE 0x7E0000000000ull

struct event {
  int open;
  int signalled;
  int manual;
  int trigger;   /* index + 1 of the live trigger that owns it, or 0 */
  int swallow;   /* a deleted trigger's event that swallows signals */
};
struct partition {
  int alive;
  int setup;
  int count_set;
  uint32_t proc_count;
  uint32_t apic_mode;
  int vp_created[MAX_VPS];
  uint8_t (*pages)[PAGE];
};
struct trigger {
  int alive;
  int partition;
  int event;
  uint8_t control[16];
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER;    /* the delivery thread has something to look at */
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER; /* an event changed state (waiters) */
static pthread_once_t thread_once = PTHREAD_ONCE_INIT;

static struct event events[MAX_EVENTS];
static int n_events;
static struct trigger triggers[MAX_TRIGGERS];
static int n_triggers;
static struct partition *partitions[MAX_PARTITIONS];
static int n_partitions;

static int sw_manual_reset, sw_keeps_signal = 1, sw_needs_setup, sw_hold, sw_present = 1, sw_delay_ms;
static int close_errors, order_violations, bad_handle_uses;
static long deliveries;

/* ---------- call counts and fault injection ---------- */

#define MAX_NAMES 40
static struct { char name[48]; long calls; } counts[MAX_NAMES];
static struct { char name[48]; uint32_t nth; HRESULT hr; } faults[16];

/* Counts the call; returns 1 (and *hr) when an armed fault fires for it. Under mu. */
static int enter(const char *fn, HRESULT *hr) {
  int i;
  for (i = 0; i < MAX_NAMES; i++) {
    if (counts[i].name[0] == 0) { strncpy(counts[i].name, fn, sizeof counts[i].name - 1); }
    if (strcmp(counts[i].name, fn) == 0) { counts[i].calls++; break; }
  }
  int fired = 0;
  for (i = 0; i < 16; i++) {
    if (faults[i].nth && strcmp(faults[i].name, fn) == 0) {
      if (--faults[i].nth == 0 && !fired) { *hr = faults[i].hr; fired = 1; }
    }
  }
  return fired;
}

/* How every entry point of the model starts: takes mu (the entry point releases it), then enter(). */
static int lock_enter(const char *fn, HRESULT *hr) {
  pthread_mutex_lock(&mu);
  return enter(fn, hr);
}

/* ---------- handles ---------- */

static int event_index(HANDLE h) {
  if (h < EVENT_BASE || (h - EVENT_BASE) % 4 != 0) return -1;
  uint64_t i = (h - EVENT_BASE) / 4;
  return i < (uint64_t)n_events ? (int)i : -1;
}
static struct event *open_event(HANDLE h) {
  int i = event_index(h);
  return i >= 0 && events[i].open ? &events[i] : NULL;
}
/* Under mu: the open event `h` names, or NULL (a bad-handle use, as kernel32 would fail it). */
static struct event *used_event(HANDLE h) {
  struct event *e = open_event(h);
  if (!e) bad_handle_uses++;
  return e;
}
static struct partition *live_partition(HANDLE h, int *index) {
  if (h < PARTITION_BASE || (h - PARTITION_BASE) % 16 != 0) return NULL;
  uint64_t i = (h - PARTITION_BASE) / 16;
  if (i >= (uint64_t)n_partitions || !partitions[i] || !partitions[i]->alive) return NULL;
  if (index) *index = (int)i;
  return partitions[i];
}
static int new_event(int manual) {
  if (n_events >= MAX_EVENTS) return -1;
  int i = n_events++;
  memset(&events[i], 0, sizeof events[i]);
  events[i].open = 1;
  events[i].manual = manual;
  return i;
}

/* ---------- the interrupt bus ---------- */

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* A WHV_INTERRUPT_CONTROL the hypervisor would accept. */
static int control_valid(const uint8_t *ic) {
  uint64_t w = rd64(ic);
  uint32_t type = w & 0xff, dm = (w >> 8) & 0xf, tm = (w >> 12) & 0xf;
  if (!(type == 0 || type == 1 || type == 4 || type == 5 || type == 6 || type == 9)) return 0;
  if (dm > 1 || tm > 1) return 0;
  if (w >> 16) return 0; /* TargetVtl (VTL 0 only here) and reserved bits */
  if (rd32(ic + 12) > 255) return 0;
  return 1;
}

/* The APIC ID of a VP, as the page's ID register holds it in this partition's mode. */
static uint32_t apic_id(const struct partition *p, const uint8_t *page) {
  return p->apic_mode == 2 ? rd32(page + 0x20) : rd32(page + 0x20) >> 24;
}

/* Whether destination `dest` (physical or logical) names the APIC whose ID is `id`. */
static int destination_matches(const struct partition *p, uint32_t dest, int logical, uint32_t id) {
  if (p->apic_mode == 2) {
    if (dest == 0xffffffffu) return 1;
    if (!logical) return dest == id;
    return (dest >> 16) == (id >> 4) && (dest & 0xffff & (1u << (id & 0xf))) != 0;
  }
  return logical ? (id < 8 && (dest & (1u << id))) : (dest == 0xff || dest == id);
}

/*
 * xAPIC: physical the APIC whose ID matches, 0xFF broadcasts; logical flat model, bit n = APIC ID n.
 * x2APIC: 32-bit IDs, 0xFFFFFFFF broadcasts, logical by cluster (destination_matches).
 */
static void deliver(struct partition *p, const uint8_t *ic) {
  uint64_t w = rd64(ic);
  uint32_t type = w & 0xff, logical = (w >> 8) & 0xf, level = (w >> 12) & 0xf;
  uint32_t dest = rd32(ic + 8), vector = rd32(ic + 12) & 0xff;
  uint32_t vp;
  deliveries++;
  for (vp = 0; vp < p->proc_count && vp < MAX_VPS; vp++) {
    if (!p->vp_created[vp]) continue;
    uint8_t *page = p->pages[vp];
    if (!destination_matches(p, dest, logical, apic_id(p, page))) continue;
    if ((type == 0 || type == 1) && (rd32(page + 0xf0) & 0x100)) {
      uint8_t *irr = page + 0x200 + 16 * (vector / 32);
      uint8_t *tmr = page + 0x180 + 16 * (vector / 32);
      wr32(irr, rd32(irr) | (1u << (vector % 32)));
      wr32(tmr, level ? (rd32(tmr) | (1u << (vector % 32))) : (rd32(tmr) & ~(1u << (vector % 32))));
    }
    if (type == 1) break; /* lowest priority: the first match */
  }
}

static void *delivery_thread(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mu);
  for (;;) {
    int i, did = 0;
    if (!sw_hold) {
      for (i = 0; i < n_triggers; i++) {
        struct trigger *t = &triggers[i];
        if (!t->alive || !events[t->event].signalled) continue;
        events[t->event].signalled = 0; /* the hypervisor consumes the signal, whatever the reset mode */
        deliver(partitions[t->partition], t->control);
        did = 1;
      }
    }
    if (did) pthread_cond_broadcast(&changed);
    pthread_cond_wait(&work, &mu);
    if (sw_delay_ms > 0) {
      /* A slow hypervisor: signals stay in their events this long before being taken. */
      struct timespec d = { sw_delay_ms / 1000, (long)(sw_delay_ms % 1000) * 1000000L };
      pthread_mutex_unlock(&mu);
      nanosleep(&d, NULL);
      pthread_mutex_lock(&mu);
    }
  }
  return NULL;
}
static void start_thread(void) {
  pthread_t t;
  pthread_create(&t, NULL, delivery_thread, NULL);
  pthread_detach(t);
}

/* ---------- WinHvPlatform.dll ---------- */

HRESULT WHvCreatePartition(HANDLE *out) {
  HRESULT hr = S_OK;
  pthread_once(&thread_once, start_thread);
  if (lock_enter("WHvCreatePartition", &hr)) goto done;
  if (!out || n_partitions >= MAX_PARTITIONS) { hr = E_INVALIDARG; goto done; }
  struct partition *p = calloc(1, sizeof *p);
  p->alive = 1;
  partitions[n_partitions] = p;
  *out = PARTITION_BASE + 16ull * (uint64_t)n_partitions++;
done:
  pthread_mutex_unlock(&mu);
  return hr;
}

HRESULT WHvSetPartitionProperty(HANDLE h, uint32_t code, const void *buf, uint32_t size) {
  HRESULT hr = S_OK;
  if (lock_enter("WHvSetPartitionProperty", &hr)) goto done;
  struct partition *p = live_partition(h, NULL);
  if (!p) { hr = E_HANDLE; goto done; }
  if (code != 0x1fff && code != 0x1005) { hr = WHV_E_UNKNOWN_PROPERTY; goto done; }
  if (p->setup || !buf || size != 4) { hr = E_INVALIDARG; goto done; }
  uint32_t v = rd32(buf);
  if (code == 0x1fff) {
    if (v == 0 || v > MAX_VPS) { hr = E_INVALIDARG; goto done; }
    p->proc_count = v;
    p->count_set = 1;
  } else {
    if (v > 2) { hr = E_INVALIDARG; goto done; }
    p->apic_mode = v;
  }
done:
  pthread_mutex_unlock(&mu);
  return hr;
}

HRESULT WHvSetupPartition(HANDLE h) {
  HRESULT hr = S_OK;
  if (lock_enter("WHvSetupPartition", &hr)) goto done;
  struct partition *p = live_partition(h, NULL);
  if (!p) { hr = E_HANDLE; goto done; }
  if (p->setup || !p->count_set) { hr = WHV_E_INVALID_PARTITION_CONFIG; goto done; }
  p->pages = calloc(p->proc_count, PAGE); /* one page per VP index, below ProcessorCount */
  if (!p->pages) { hr = E_OUTOFMEMORY; goto done; }
  p->setup = 1;
done:
  pthread_mutex_unlock(&mu);
  return hr;
}

static void retire_trigger(struct trigger *t) {
  struct event *e = &events[t->event];
  t->alive = 0;
  e->trigger = 0;
  if (!sw_keeps_signal) {
    e->signalled = 0;
    e->swallow = 1;
  }
}

HRESULT WHvDeletePartition(HANDLE h) {
  HRESULT hr = S_OK;
  int index, i;
  if (lock_enter("WHvDeletePartition", &hr)) goto done;
  struct partition *p = live_partition(h, &index);
  if (!p) { hr = E_HANDLE; goto done; }
  for (i = 0; i < n_triggers; i++) if (triggers[i].alive && triggers[i].partition == index) retire_trigger(&triggers[i]);
  p->alive = 0;
  free(p->pages);
  p->pages = NULL;
done:
  pthread_mutex_unlock(&mu);
  return hr;
}

HRESULT WHvCreateVirtualProcessor(HANDLE h, uint32_t vp, uint32_t flags) {
  HRESULT hr = S_OK;
  if (lock_enter("WHvCreateVirtualProcessor", &hr)) goto done;
  struct partition *p = live_partition(h, NULL);
  if (!p) { hr = E_HANDLE; goto done; }
  if (!p->setup) { hr = WHV_E_INVALID_PARTITION_CONFIG; goto done; }
  if (flags != 0) { hr = E_INVALIDARG; goto done; }
  if (vp >= p->proc_count) { hr = ERROR_HV_INVALID_VP_INDEX; goto done; }
  if (p->vp_created[vp]) { hr = E_INVALIDARG; goto done; }
  p->vp_created[vp] = 1;
  memset(p->pages[vp], 0, PAGE);
  wr32(p->pages[vp] + 0x20, p->apic_mode == 2 ? vp : vp << 24); /* APIC ID = VP index */
  wr32(p->pages[vp] + 0x30, 0x50014);  /* version */
  wr32(p->pages[vp] + 0xf0, 0xff);     /* SVR after reset: software-disabled */
done:
  pthread_mutex_unlock(&mu);
  return hr;
}

HRESULT WHvGetCapability(uint32_t code, void *buf, uint32_t size, uint32_t *written) {
  HRESULT hr = S_OK;
  if (lock_enter("WHvGetCapability", &hr)) goto done;
  uint32_t need = code == 0 ? 4 : code == 1 ? 8 : 0;
  if (!need) { hr = WHV_E_UNKNOWN_CAPABILITY; goto done; }
  if (written) *written = need;
  if (!buf || size < need) { hr = WHV_E_INSUFFICIENT_BUFFER; goto done; }
  if (code == 0) wr32(buf, sw_present ? 1 : 0);
  else { uint64_t f = 1ull << 1; memcpy(buf, &f, 8); } /* LocalApicEmulation */
done:
  pthread_mutex_unlock(&mu);
  return hr;
}

HRESULT WHvRequestInterrupt(HANDLE h, const void *ic, uint32_t size) {
  HRESULT hr = S_OK;
  if (lock_enter("WHvRequestInterrupt", &hr)) goto done;
  struct partition *p = live_partition(h, NULL);
  if (!p) { hr = E_HANDLE; goto done; }
  if (!ic || size != 16 || !control_valid(ic)) { hr = E_INVALIDARG; goto done; }
  if (!p->setup) { hr = WHV_E_INVALID_PARTITION_CONFIG; goto done; }
  deliver(p, ic);
done:
  pthread_mutex_unlock(&mu);
  return hr;
}

static HRESULT vp_state(const char *fn, HANDLE h, uint32_t vp, uint32_t type, struct partition **out) {
  HRESULT hr = S_OK;
  if (enter(fn, &hr)) return hr;
  struct partition *p = live_partition(h, NULL);
  if (!p) return E_HANDLE;
  if (vp >= MAX_VPS || !p->vp_created[vp]) return WHV_E_VP_DOES_NOT_EXIST;
  if (type != 0x1000) return E_INVALIDARG;
  *out = p;
  return S_OK;
}

HRESULT WHvGetVirtualProcessorState(HANDLE h, uint32_t vp, uint32_t type, void *buf, uint32_t size, uint32_t *written) {
  struct partition *p = NULL;
  pthread_mutex_lock(&mu);
  HRESULT hr = vp_state("WHvGetVirtualProcessorState", h, vp, type, &p);
  if (hr == S_OK) {
    if (written) *written = PAGE;
    if (!buf || size < PAGE) hr = WHV_E_INSUFFICIENT_BUFFER;
    else memcpy(buf, p->pages[vp], PAGE);
  }
  pthread_mutex_unlock(&mu);
  return hr;
}

HRESULT WHvSetVirtualProcessorState(HANDLE h, uint32_t vp, uint32_t type, const void *buf, uint32_t size) {
  struct partition *p = NULL;
  pthread_mutex_lock(&mu);
  HRESULT hr = vp_state("WHvSetVirtualProcessorState", h, vp, type, &p);
  if (hr == S_OK) {
    if (!buf || size < PAGE) hr = E_INVALIDARG;
    else {
      uint32_t id = rd32(p->pages[vp] + 0x20);
      memcpy(p->pages[vp], buf, PAGE);
      wr32(p->pages[vp] + 0x20, id); /* the APIC ID is read-only here */
    }
  }
  pthread_mutex_unlock(&mu);
  return hr;
}

#ifndef WHP_MODEL_NO_TRIGGERS
/* Under mu: the live trigger `h` of the live partition `partition`, or NULL (either handle stale or
 * foreign: both are E_HANDLE to WHvUpdateTriggerParameters and WHvDeleteTrigger). */
static struct trigger *live_trigger(HANDLE partition, HANDLE h) {
  int index;
  if (!live_partition(partition, &index)) return NULL;
  if (h < TRIGGER_BASE || (h - TRIGGER_BASE) % 16 != 0) return NULL;
  uint64_t i = (h - TRIGGER_BASE) / 16;
  if (i >= (uint64_t)n_triggers || !triggers[i].alive || triggers[i].partition != index) return NULL;
  return &triggers[i];
}
static int trigger_params_valid(const uint8_t *params) {
  return params && rd32(params) == 0 /* Interrupt */ && rd32(params + 4) == 0 && control_valid(params + 8);
}

HRESULT WHvCreateTrigger(HANDLE h, const void *params, HANDLE *outTrigger, HANDLE *outEvent) {
  HRESULT hr = S_OK;
  int index;
  if (lock_enter("WHvCreateTrigger", &hr)) goto done;
  struct partition *p = live_partition(h, &index);
  if (!p) { hr = E_HANDLE; goto done; }
  if (!outTrigger || !outEvent || !trigger_params_valid(params)) { hr = E_INVALIDARG; goto done; }
  if (sw_needs_setup && !p->setup) { hr = WHV_E_INVALID_PARTITION_CONFIG; goto done; }
  if (n_triggers >= MAX_TRIGGERS) { hr = E_INVALIDARG; goto done; }
  int e = new_event(sw_manual_reset);
  if (e < 0) { hr = E_INVALIDARG; goto done; }
  int t = n_triggers++;
  triggers[t].alive = 1;
  triggers[t].partition = index;
  triggers[t].event = e;
  memcpy(triggers[t].control, (const uint8_t *)params + 8, 16);
  events[e].trigger = t + 1;
  *outTrigger = TRIGGER_BASE + 16ull * (uint64_t)t;
  *outEvent = EVENT_BASE + 4ull * (uint64_t)e;
done:
  pthread_mutex_unlock(&mu);
  return hr;
}

#ifndef WHP_MODEL_NO_UPDATE
HRESULT WHvUpdateTriggerParameters(HANDLE h, const void *params, HANDLE trigger) {
  HRESULT hr = S_OK;
  if (lock_enter("WHvUpdateTriggerParameters", &hr)) goto done;
  struct trigger *t = live_trigger(h, trigger);
  if (!t) { hr = E_HANDLE; goto done; }
  if (!trigger_params_valid(params)) { hr = E_INVALIDARG; goto done; } /* includes a type change */
  memcpy(t->control, (const uint8_t *)params + 8, 16); /* atomic with respect to delivery: under mu */
done:
  pthread_mutex_unlock(&mu);
  return hr;
}
#endif

HRESULT WHvDeleteTrigger(HANDLE h, HANDLE trigger) {
  HRESULT hr = S_OK;
  if (lock_enter("WHvDeleteTrigger", &hr)) goto done;
  struct trigger *t = live_trigger(h, trigger);
  if (!t) { hr = E_HANDLE; goto done; }
  retire_trigger(t);
done:
  pthread_mutex_unlock(&mu);
  return hr;
}
#endif

/* ---------- kernel32 ---------- */

HANDLE CreateEventW(void *attributes, int32_t manualReset, int32_t initialState, void *name) {
  HRESULT hr;
  HANDLE out = 0;
  (void)attributes;
  if (lock_enter("CreateEventW", &hr) || name) goto done;
  int e = new_event(manualReset != 0);
  if (e < 0) goto done;
  events[e].signalled = initialState != 0;
  out = EVENT_BASE + 4ull * (uint64_t)e;
done:
  pthread_mutex_unlock(&mu);
  return out;
}

/*
 * SetEvent (signalled 1) and ResetEvent (signalled 0) on one event, under mu: FALSE for a failure
 * armed on `fn` or a handle that is not a live event. Setting an event that swallows signals (a
 * deleted trigger's, where the model resets it at deletion) succeeds and changes nothing.
 */
static int32_t set_signalled(const char *fn, HANDLE h, int signalled) {
  HRESULT hr;
  int32_t ok = 0;
  struct event *e = lock_enter(fn, &hr) ? NULL : used_event(h);
  if (!e) goto done;
  ok = 1;
  if (!signalled) {
    e->signalled = 0;
    goto done;
  }
  if (e->swallow) goto done;
  e->signalled = 1;
  pthread_cond_broadcast(&changed);
  if (e->trigger) pthread_cond_signal(&work);
done:
  pthread_mutex_unlock(&mu);
  return ok;
}

int32_t SetEvent(HANDLE h) { return set_signalled("SetEvent", h, 1); }

int32_t ResetEvent(HANDLE h) { return set_signalled("ResetEvent", h, 0); }

static void deadline_after(struct timespec *ts, uint32_t ms) {
  clock_gettime(CLOCK_REALTIME, ts);
  ts->tv_sec += ms / 1000;
  ts->tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts->tv_nsec >= 1000000000L) { ts->tv_sec++; ts->tv_nsec -= 1000000000L; }
}

/* Under mu: the first signalled handle (consuming an auto-reset one), -1 if none, -2 for a bad handle. */
static int take_any(uint32_t n, const HANDLE *handles) {
  uint32_t i;
  for (i = 0; i < n; i++) {
    struct event *e = used_event(handles[i]);
    if (!e) return -2;
    if (e->signalled) {
      if (!e->manual) e->signalled = 0;
      return (int)i;
    }
  }
  return -1;
}

static uint32_t wait_any(const char *fn, uint32_t n, const HANDLE *handles, uint32_t ms) {
  HRESULT hr;
  uint32_t r;
  struct timespec ts;
  if (lock_enter(fn, &hr) || n == 0 || n > 64 || !handles) { r = WAIT_FAILED; goto done; }
  if (ms != INFINITE) deadline_after(&ts, ms);
  for (;;) {
    int i = take_any(n, handles);
    if (i == -2) { r = WAIT_FAILED; break; }
    if (i >= 0) { r = WAIT_OBJECT_0 + (uint32_t)i; break; }
    if (ms == 0) { r = WAIT_TIMEOUT; break; }
    int rc = ms == INFINITE ? pthread_cond_wait(&changed, &mu) : pthread_cond_timedwait(&changed, &mu, &ts);
    if (rc == ETIMEDOUT) {
      i = take_any(n, handles);
      r = i >= 0 ? WAIT_OBJECT_0 + (uint32_t)i : i == -2 ? WAIT_FAILED : WAIT_TIMEOUT;
      break;
    }
  }
done:
  pthread_mutex_unlock(&mu);
  return r;
}

uint32_t WaitForSingleObject(HANDLE h, uint32_t ms) {
  return wait_any("WaitForSingleObject", 1, &h, ms);
}

uint32_t WaitForMultipleObjects(uint32_t n, const HANDLE *handles, int32_t waitAll, uint32_t ms) {
  if (waitAll) return WAIT_FAILED; /* not modelled: the backend never waits for all */
  return wait_any("WaitForMultipleObjects", n, handles, ms);
}

int32_t CloseHandle(HANDLE h) {
  HRESULT hr;
  int32_t ok = 0;
  if (lock_enter("CloseHandle", &hr)) goto done;
  struct event *e = open_event(h);
  if (!e) { close_errors++; goto done; }
  if (e->trigger) order_violations++; /* closed before its trigger was deleted */
  e->open = 0;
  e->signalled = 0;
  pthread_cond_broadcast(&changed);
  ok = 1;
done:
  pthread_mutex_unlock(&mu);
  return ok;
}

/* ---------- test controls ---------- */

int32_t model_configure(const char *name, int32_t value) {
  int32_t ok = 1;
  pthread_mutex_lock(&mu);
  if (!strcmp(name, "manual_reset")) sw_manual_reset = value;
  else if (!strcmp(name, "deleted_event_keeps_signal")) sw_keeps_signal = value;
  else if (!strcmp(name, "create_trigger_needs_setup")) sw_needs_setup = value;
  else if (!strcmp(name, "hold_delivery")) sw_hold = value;
  else if (!strcmp(name, "hypervisor_present")) sw_present = value;
  else if (!strcmp(name, "delivery_delay_ms")) sw_delay_ms = value;
  else ok = 0;
  pthread_cond_signal(&work);
  pthread_mutex_unlock(&mu);
  return ok;
}

/* Fails the nth next call (1 = the next one) of function fn with hr (kernel32 functions fail their own way). */
int32_t model_fail(const char *fn, uint32_t nth, int32_t hr) {
  int i;
  int32_t ok = 0;
  pthread_mutex_lock(&mu);
  for (i = 0; i < 16; i++) {
    if (faults[i].nth == 0) {
      strncpy(faults[i].name, fn, sizeof faults[i].name - 1);
      faults[i].name[sizeof faults[i].name - 1] = 0;
      faults[i].nth = nth;
      faults[i].hr = hr;
      ok = 1;
      break;
    }
  }
  pthread_mutex_unlock(&mu);
  return ok;
}

long model_calls(const char *fn) {
  long n = 0;
  int i;
  pthread_mutex_lock(&mu);
  for (i = 0; i < MAX_NAMES; i++) if (!strcmp(counts[i].name, fn)) n = counts[i].calls;
  pthread_mutex_unlock(&mu);
  return n;
}

/* Ledger queries: which = "open_events", "close_errors", "order_violations", "bad_handle_uses",
 * "live_partitions", "live_triggers", "deliveries". -1 for an unknown name. */
long model_ledger(const char *which) {
  long n = -1;
  int i;
  pthread_mutex_lock(&mu);
  if (!strcmp(which, "open_events")) { n = 0; for (i = 0; i < n_events; i++) n += events[i].open; }
  else if (!strcmp(which, "close_errors")) n = close_errors;
  else if (!strcmp(which, "order_violations")) n = order_violations;
  else if (!strcmp(which, "bad_handle_uses")) n = bad_handle_uses;
  else if (!strcmp(which, "live_partitions")) { n = 0; for (i = 0; i < n_partitions; i++) n += partitions[i] && partitions[i]->alive; }
  else if (!strcmp(which, "live_triggers")) { n = 0; for (i = 0; i < n_triggers; i++) n += triggers[i].alive; }
  else if (!strcmp(which, "deliveries")) n = deliveries;
  pthread_mutex_unlock(&mu);
  return n;
}

/* 1 open and signalled, 0 open and not, -1 not an open event. Never consumes a signal. */
int32_t model_event_state(HANDLE h) {
  int32_t r;
  pthread_mutex_lock(&mu);
  struct event *e = open_event(h);
  r = e ? e->signalled : -1;
  pthread_mutex_unlock(&mu);
  return r;
}

/* Forgets every object, count, fault and switch (handle values are never reused). */
void model_reset(void) {
  int i;
  pthread_mutex_lock(&mu);
  for (i = 0; i < n_events; i++) events[i].open = 0, events[i].trigger = 0, events[i].signalled = 0;
  for (i = 0; i < n_triggers; i++) triggers[i].alive = 0;
  for (i = 0; i < n_partitions; i++) if (partitions[i] && partitions[i]->alive) { partitions[i]->alive = 0; free(partitions[i]->pages); partitions[i]->pages = NULL; }
  memset(counts, 0, sizeof counts);
  memset(faults, 0, sizeof faults);
  close_errors = order_violations = bad_handle_uses = 0;
  deliveries = 0;
  sw_manual_reset = 0; sw_keeps_signal = 1; sw_needs_setup = 0; sw_hold = 0; sw_present = 1; sw_delay_ms = 0;
  pthread_mutex_unlock(&mu);
}
