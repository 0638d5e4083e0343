// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The IOKit transport: one io_connect_t on the dext instance (an
 * IOUserService whose IOUserClass is VFIOUserPCIDriver) of one function.
 * Selectors are IOConnectCallScalarMethod with exactly dext-abi.h's
 * counts; WaitInterrupt is IOConnectCallAsyncScalarMethod whose
 * completion runs on a private serial dispatch queue and only writes its
 * IOReturn into a pipe, so the caller's event loop sees it as
 * dext_client_fd() and handles it on its own thread.
 *
 * Never built or run on macOS by this project (no Mac in its CI): on Linux
 * the test shim (tests/iokit-shim) provides these IOKit, Mach and dispatch
 * functions on top of dextd's socket.
 */
#include "dext-client/dext-client-iokit.h"
#include "dext-client/transport.h"

#include <CoreFoundation/CoreFoundation.h>
#include <IOKit/IOKitLib.h>
#include <dispatch/dispatch.h>
#include <mach/mach.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct iokit_client {
	struct dext_client base;
	io_connect_t conn;
	IONotificationPortRef port;
	dispatch_queue_t queue;
	int pipe[2];		/* [1]: completion callback, [0]: dext_client_fd() */
};

static const struct dext_transport iokit_transport;

int dext_iokit_errno(int ioreturn)
{
	switch ((uint32_t)ioreturn) {
#define DEXT_RC_CASE(name, io, err)	case io: return -(err);
	DEXT_RETURN_CODES(DEXT_RC_CASE)
#undef DEXT_RC_CASE
	case (uint32_t)kIOReturnAborted:	/* pending async call of a closed client */
	case (uint32_t)MACH_SEND_INVALID_DEST:	/* the connection's port is dead */
		return -ECONNRESET;
	case (uint32_t)kIOReturnExclusiveAccess:
		return -EBUSY;
	case (uint32_t)kIOReturnNotPermitted:
		return -EPERM;
	default:
		return -EIO;
	}
}

static struct iokit_client *as_iokit(struct dext_client *c)
{
	return (struct iokit_client *)c;
}

static int iokit_call(struct dext_client *c, uint32_t selector, const uint64_t *in,
		      uint32_t n_in, uint64_t *out, uint32_t n_out)
{
	uint32_t got = n_out;
	kern_return_t kr;

	if (!as_iokit(c)->conn)
		return -ECONNRESET;	/* shut down */
	kr = IOConnectCallScalarMethod(as_iokit(c)->conn, selector, in, n_in, out, &got);
	if (kr != kIOReturnSuccess)
		return dext_iokit_errno(kr);
	return got == n_out ? 0 : -EPROTO;
}

/* Runs on the client's dispatch queue: hand the result to the caller's thread. */
static void wait_done(void *refcon, IOReturn result, void **args, uint32_t n_args)
{
	struct iokit_client *k = refcon;
	ssize_t n;

	(void)args;
	(void)n_args;
	/* 4 bytes into a pipe are atomic; a full pipe means a wakeup is already queued. */
	n = write(k->pipe[1], &result, sizeof(result));
	(void)n;
}

static int iokit_arm_wait(struct dext_client *c)
{
	struct iokit_client *k = as_iokit(c);
	io_async_ref64_t ref = { 0 };
	uint32_t n_out = 0;
	kern_return_t kr;

	ref[kIOAsyncCalloutFuncIndex] = (uint64_t)(uintptr_t)wait_done;
	ref[kIOAsyncCalloutRefconIndex] = (uint64_t)(uintptr_t)k;
	kr = IOConnectCallAsyncScalarMethod(k->conn, DEXT_SEL_WAIT_INTERRUPT,
					    IONotificationPortGetMachPort(k->port), ref,
					    kIOAsyncCalloutCount, NULL, 0, NULL, &n_out);
	return kr == kIOReturnSuccess ? 0 : dext_iokit_errno(kr);
}

static int iokit_dispatch(struct dext_client *c)
{
	struct iokit_client *k = as_iokit(c);
	IOReturn result;
	int r = 0;

	while (read(k->pipe[0], &result, sizeof(result)) == (ssize_t)sizeof(result)) {
		if (dext_client_complete_wait(c) < 0)
			r = -EPROTO;
		else if (result != kIOReturnSuccess)
			r = dext_iokit_errno(result);
	}
	return r;
}

static int iokit_fd(const struct dext_client *c)
{
	return ((const struct iokit_client *)c)->pipe[0];
}

static int iokit_map(struct dext_client *c, unsigned int type, void **addr, uint64_t *size)
{
	struct iokit_client *k = as_iokit(c);
	IOOptionBits options = kIOMapAnywhere;
	mach_vm_address_t a = 0;
	mach_vm_size_t s = 0;
	struct dext_bar_info bar;
	kern_return_t kr;

	/* Prefetchable BARs may gather writes, as the RFC's QEMU maps them. */
	if (type >= DEXT_MEM_BAR0 && type <= DEXT_MEM_BAR5 &&
	    dext_bar_info(c, type - DEXT_MEM_BAR0, &bar) == 0 &&
	    (bar.type & DEXT_BAR_TYPE_PREFETCH))
		options |= kIOMapWriteCombineCache;
	kr = IOConnectMapMemory64(k->conn, type, mach_task_self(), &a, &s, options);
	if (kr != kIOReturnSuccess)
		return dext_iokit_errno(kr);
	*addr = (void *)(uintptr_t)a;
	*size = s;
	return 0;
}

static int iokit_unmap(struct dext_client *c, unsigned int type, void *addr, uint64_t size)
{
	kern_return_t kr;

	(void)size;
	kr = IOConnectUnmapMemory64(as_iokit(c)->conn, type, mach_task_self(),
				    (mach_vm_address_t)(uintptr_t)addr);
	return kr == kIOReturnSuccess ? 0 : dext_iokit_errno(kr);
}

static void drain(void *ctx)
{
	(void)ctx;
}

static void iokit_shutdown(struct dext_client *c)
{
	struct iokit_client *k = as_iokit(c);

	/* Closing the connection releases everything; calls then fail at once. */
	if (k->conn)
		IOServiceClose(k->conn);
	k->conn = 0;
}

static void iokit_destroy(struct dext_client *c)
{
	struct iokit_client *k = as_iokit(c);

	if (k->conn)
		IOServiceClose(k->conn);	/* aborts a pending WaitInterrupt */
	if (k->port)
		IONotificationPortDestroy(k->port);
	if (k->queue) {
		/* A callback already on the queue still writes to our pipe: let it finish. */
		dispatch_sync_f(k->queue, NULL, drain);
		dispatch_release(k->queue);
	}
	if (k->pipe[0] >= 0)
		close(k->pipe[0]);
	if (k->pipe[1] >= 0)
		close(k->pipe[1]);
	free(k);
}

static const struct dext_transport iokit_transport = {
	.name = "iokit",
	.call = iokit_call,
	.arm_wait = iokit_arm_wait,
	.dispatch = iokit_dispatch,
	.fd = iokit_fd,
	.map = iokit_map,
	.unmap = iokit_unmap,
	.shutdown = iokit_shutdown,
	.destroy = iokit_destroy,
};

/* A CFString property of entry, or -ENOENT. */
static int string_property(io_registry_entry_t entry, CFStringRef key, char *buf, size_t len)
{
	CFTypeRef v = IORegistryEntryCreateCFProperty(entry, key, kCFAllocatorDefault, 0);
	int r = -ENOENT;

	if (!v)
		return r;
	if (CFGetTypeID(v) == CFStringGetTypeID() &&
	    CFStringGetCString((CFStringRef)v, buf, (CFIndex)len, kCFStringEncodingUTF8))
		r = 0;
	CFRelease(v);
	return r;
}

static bool is_dext_instance(io_service_t svc)
{
	char cls[128];

	return string_property(svc, CFSTR("IOUserClass"), cls, sizeof(cls)) == 0 &&
	       strcmp(cls, DEXT_IOKIT_USER_CLASS) == 0;
}

/*
 * The location of the instance's provider IOPCIDevice ("pcidebug" is
 * "bus:dev:fn..."), so that only the right instance is opened; -ENOENT if
 * the registry does not say (GetIdentity decides then).
 */
static int location_of(io_service_t svc, unsigned int *bus, unsigned int *dev, unsigned int *fn)
{
	io_registry_entry_t parent;
	char loc[64];
	int r;

	if (IORegistryEntryGetParentEntry(svc, kIOServicePlane, &parent) != KERN_SUCCESS)
		return -ENOENT;
	r = string_property(parent, CFSTR("pcidebug"), loc, sizeof(loc));
	IOObjectRelease(parent);
	if (r == 0 && sscanf(loc, "%u:%u:%u", bus, dev, fn) != 3)
		r = -ENOENT;
	return r;
}

/* Calls fn for every dext instance until it returns non-zero; returns that, or 0. */
static int for_each_instance(int (*fn)(io_service_t svc, void *ctx), void *ctx)
{
	io_iterator_t iter;
	io_service_t svc;
	int r = 0;

	/* IOServiceGetMatchingServices consumes the matching dictionary. */
	if (IOServiceGetMatchingServices(kIOMainPortDefault, IOServiceMatching("IOUserService"),
					 &iter) != KERN_SUCCESS)
		return -ENODEV;
	while (!r && (svc = IOIteratorNext(iter)) != IO_OBJECT_NULL) {
		if (is_dext_instance(svc))
			r = fn(svc, ctx);
		IOObjectRelease(svc);
	}
	IOObjectRelease(iter);
	return r;
}

static int identify(io_connect_t conn, struct dext_identity *id)
{
	uint64_t v[6];
	uint32_t n = 6;
	kern_return_t kr = IOConnectCallScalarMethod(conn, DEXT_SEL_GET_IDENTITY, NULL, 0, v, &n);

	if (kr != kIOReturnSuccess)
		return dext_iokit_errno(kr);
	if (n != 6)
		return -EPROTO;
	dext_identity_from(id, v);
	return 0;
}

struct open_ctx {
	unsigned int bus, dev, fn;
	io_connect_t conn;
};

static int try_open(io_service_t svc, void *arg)
{
	struct open_ctx *o = arg;
	struct dext_identity id;
	unsigned int b, d, f;
	io_connect_t conn;

	if (location_of(svc, &b, &d, &f) == 0 && (b != o->bus || d != o->dev || f != o->fn))
		return 0;
	if (IOServiceOpen(svc, mach_task_self(), 0, &conn) != KERN_SUCCESS)
		return 0;
	/* The dext's own word decides, as the reference client does. */
	if (identify(conn, &id) == 0 && id.bus == o->bus && id.dev == o->dev && id.fn == o->fn) {
		o->conn = conn;
		return 1;
	}
	IOServiceClose(conn);
	return 0;
}

static int nonblock_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -1;
	return 0;
}

int dext_client_open_iokit(unsigned int bus, unsigned int dev, unsigned int fn,
			   struct dext_client **out)
{
	struct open_ctx o = { bus, dev, fn, IO_OBJECT_NULL };
	struct iokit_client *k;
	int r;

	if (bus > 0xff || dev > 0x1f || fn > 7)
		return -EINVAL;
	r = for_each_instance(try_open, &o);
	if (r < 0)
		return r;
	if (!o.conn)
		return -ENODEV;
	k = calloc(1, sizeof(*k));
	if (!k) {
		IOServiceClose(o.conn);
		return -ENOMEM;
	}
	k->base.t = &iokit_transport;
	k->conn = o.conn;
	k->pipe[0] = k->pipe[1] = -1;
	if (pipe(k->pipe) < 0 || nonblock_cloexec(k->pipe[0]) < 0 ||
	    nonblock_cloexec(k->pipe[1]) < 0) {	/* no pipe2() on Darwin */
		r = -errno;
		goto fail;
	}
	k->port = IONotificationPortCreate(kIOMainPortDefault);
	k->queue = dispatch_queue_create("vfio-apple.dext-client.irq", DISPATCH_QUEUE_SERIAL);
	if (!k->port || !k->queue) {
		r = -ENOMEM;
		goto fail;
	}
	IONotificationPortSetDispatchQueue(k->port, k->queue);
	*out = &k->base;
	return 0;
fail:
	iokit_destroy(&k->base);
	return r;
}

struct list_ctx {
	struct dext_identity *ids;
	unsigned int max, n;
};

static int list_one(io_service_t svc, void *arg)
{
	struct list_ctx *l = arg;
	struct dext_identity id;
	io_connect_t conn;
	int r;

	if (IOServiceOpen(svc, mach_task_self(), 0, &conn) != KERN_SUCCESS)
		return 0;	/* not ours to open: not listed */
	r = identify(conn, &id);
	IOServiceClose(conn);
	if (r == 0) {
		if (l->n < l->max)
			l->ids[l->n] = id;
		l->n++;
	}
	return 0;
}

int dext_iokit_list(struct dext_identity *ids, unsigned int max, unsigned int *n)
{
	struct list_ctx l = { ids, max, 0 };
	int r = for_each_instance(list_one, &l);

	*n = l.n;
	return r;
}
