/*
 * The C floors of `tsvmm bench`, loaded into the Node process with koffi.
 *
 * They must live in the same process as the VM: KVM refuses vCPU and VM ioctls from any process
 * other than the one that created the VM (-EIO), so a child program could write the eventfd but
 * could not read the local APIC. Compiled at bench time with `cc -O2 -shared -fPIC -pthread`.
 *
 * - tsvmm_measure_signal_to_irr: the harness. Clears IRR (outside the timed region), writes 1 to
 *   an eventfd, polls KVM_GET_LAPIC until the vector's IRR bit shows. Used on a kernel irqfd's
 *   eventfd (the physical floor of irqfd delivery) and on a C relay's eventfd (the relay floor).
 * - tsvmm_relay_*: the C relay, one thread blocked in read() on its own eventfd, injecting each
 *   signal with KVM_SIGNAL_MSI.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define APIC_IRR 0x200
/*
 * One delivery takes microseconds; a second is four orders of magnitude more, so a vector that has
 * not shown by then was lost, not slow, and the harness returns instead of polling forever.
 * HARNESS_DEADLINE_MS in src/bench/native.ts repeats it.
 */
#define TIMEOUT_NS 1000000000LL

int tsvmm_bench_abi_version(void) { return 1; }

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int irr_has(const struct kvm_lapic_state *s, int vector)
{
	uint32_t word;
	memcpy(&word, s->regs + APIC_IRR + (vector >> 5) * 16, sizeof word);
	return (word >> (vector & 31)) & 1;
}

static int clear_irr(int vcpufd, struct kvm_lapic_state *s)
{
	if (ioctl(vcpufd, KVM_GET_LAPIC, s) < 0)
		return -errno;
	for (int i = 0; i < 8; i++)
		memset(s->regs + APIC_IRR + i * 16, 0, 4);
	if (ioctl(vcpufd, KVM_SET_LAPIC, s) < 0)
		return -errno;
	return 0;
}

/*
 * Returns 0 and fills out_ns[0..iterations) with signal -> IRR latencies in nanoseconds, or a
 * negative errno (-ETIMEDOUT when the vector never showed up within a second).
 */
int tsvmm_measure_signal_to_irr(int efd, int vcpufd, int vector, int iterations, double *out_ns)
{
	struct kvm_lapic_state st;
	const uint64_t one = 1;
	int rc;

	if (vector < 0 || vector > 255 || iterations < 0 || out_ns == NULL)
		return -EINVAL;
	for (int i = 0; i < iterations; i++) {
		rc = clear_irr(vcpufd, &st);
		if (rc < 0)
			return rc;
		int64_t t0 = now_ns();
		if (write(efd, &one, sizeof one) != sizeof one)
			return -errno;
		for (;;) {
			if (ioctl(vcpufd, KVM_GET_LAPIC, &st) < 0)
				return -errno;
			if (irr_has(&st, vector))
				break;
			if (now_ns() - t0 > TIMEOUT_NS)
				return -ETIMEDOUT;
		}
		out_ns[i] = (double)(now_ns() - t0);
	}
	return clear_irr(vcpufd, &st);
}

struct tsvmm_relay {
	int efd;
	int vmfd;
	struct kvm_msi msi;
	pthread_t thread;
	volatile int stop;
	volatile int error;
	volatile uint64_t injected;
};

static void *relay_main(void *arg)
{
	struct tsvmm_relay *r = arg;
	uint64_t count;

	for (;;) {
		ssize_t n = read(r->efd, &count, sizeof count);
		if (r->stop)
			break;
		if (n != sizeof count) {
			if (n < 0 && errno == EINTR)
				continue;
			r->error = n < 0 ? errno : EIO;
			break;
		}
		if (ioctl(r->vmfd, KVM_SIGNAL_MSI, &r->msi) < 0) {
			r->error = errno;
			break;
		}
		r->injected++;
	}
	return NULL;
}

/* Starts a relay for one MSI; returns NULL and sets *err (an errno) on failure. */
struct tsvmm_relay *tsvmm_relay_start(int vmfd, uint32_t address_lo, uint32_t address_hi, uint32_t data, int *err)
{
	struct tsvmm_relay *r = calloc(1, sizeof *r);
	if (r == NULL) {
		*err = ENOMEM;
		return NULL;
	}
	r->vmfd = vmfd;
	r->msi.address_lo = address_lo;
	r->msi.address_hi = address_hi;
	r->msi.data = data;
	/* Blocking on purpose: one read() per signal is the cheapest wait there is. */
	r->efd = eventfd(0, EFD_CLOEXEC);
	if (r->efd < 0) {
		*err = errno;
		free(r);
		return NULL;
	}
	int rc = pthread_create(&r->thread, NULL, relay_main, r);
	if (rc != 0) {
		*err = rc;
		close(r->efd);
		free(r);
		return NULL;
	}
	*err = 0;
	return r;
}

int tsvmm_relay_eventfd(const struct tsvmm_relay *r) { return r->efd; }

int tsvmm_relay_error(const struct tsvmm_relay *r) { return r->error; }

double tsvmm_relay_injected(const struct tsvmm_relay *r) { return (double)r->injected; }

/* Stops the thread, closes the eventfd, frees the relay. */
void tsvmm_relay_stop(struct tsvmm_relay *r)
{
	const uint64_t one = 1;

	if (r == NULL)
		return;
	r->stop = 1;
	if (r->error == 0)
		(void)!write(r->efd, &one, sizeof one);
	pthread_join(r->thread, NULL);
	close(r->efd);
	free(r);
}
