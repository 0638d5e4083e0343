// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A Linux stand-in for the IOKit, Mach, CoreFoundation and dispatch
 * functions that lib/dext-client/transport-iokit.c calls (apple-sdk-shim.h),
 * built on dextd's socket, so that the IOKit transport's logic runs under
 * the conformance suite. Test code only; it models what the transport
 * relies on, not all of IOKit:
 *  - the registry holds one IOUserService per dextd function (IOUserClass
 *    VFIOUserPCIDriver, provider "pcidebug" = "bus:dev:fn") and one
 *    instance of another dext, which refuses to be opened;
 *  - an io_connect_t is one socket client bound to its function;
 *  - an async completion runs on the notification port's dispatch queue
 *    (one thread per queue, serial), like GCD;
 *  - closing a connection completes its pending async call with
 *    kIOReturnAborted and unmaps what it mapped.
 */
#include "apple-sdk-shim.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vfio-apple/dext-abi.h>

#include "dext-client/dext-client.h"

#define OTHER_DEXT_CLASS	"SomeOtherVendorDriver"
#define MAX_OBJECTS		256
#define MAX_MAPS		16
#define SHIM_TASK		((mach_port_t)0x7a5c)

/* ---- CoreFoundation: strings and the matching dictionary ---- */

enum { CF_STRING = 1, CF_DICT = 2 };

struct __CFString {
	CFTypeID type;
	bool constant;
	char s[128];
};

static pthread_mutex_t cf_lock = PTHREAD_MUTEX_INITIALIZER;

static struct __CFString *cf_new(CFTypeID type, const char *s)
{
	struct __CFString *o = calloc(1, sizeof(*o));

	if (o) {
		o->type = type;
		snprintf(o->s, sizeof(o->s), "%s", s);
	}
	return o;
}

CFStringRef __CFStringMakeConstantString(const char *cStr)
{
	static struct __CFString *interned[16];
	struct __CFString *r = NULL;

	pthread_mutex_lock(&cf_lock);
	for (unsigned int i = 0; i < 16 && !r; i++) {
		if (!interned[i]) {
			interned[i] = cf_new(CF_STRING, cStr);
			if (interned[i])
				interned[i]->constant = true;
			r = interned[i];
		} else if (!strcmp(interned[i]->s, cStr)) {
			r = interned[i];
		}
	}
	pthread_mutex_unlock(&cf_lock);
	return r;
}

CFTypeID CFGetTypeID(CFTypeRef cf)
{
	return ((const struct __CFString *)cf)->type;
}

CFTypeID CFStringGetTypeID(void)
{
	return CF_STRING;
}

Boolean CFStringGetCString(CFStringRef s, char *buffer, CFIndex size, CFStringEncoding enc)
{
	if (enc != kCFStringEncodingUTF8 || size <= 0 || strlen(s->s) >= (size_t)size)
		return false;
	strcpy(buffer, s->s);
	return true;
}

void CFRelease(CFTypeRef cf)
{
	struct __CFString *o = (struct __CFString *)cf;

	if (!o->constant)
		free(o);
}

CFMutableDictionaryRef IOServiceMatching(const char *name)
{
	return (CFMutableDictionaryRef)cf_new(CF_DICT, name);
}

/* ---- dispatch: a serial queue is one thread ---- */

struct work {
	struct work *next;
	dispatch_function_t fn;
	void *ctx;
	bool *done;	/* dispatch_sync_f waits for it */
};

struct dispatch_queue_s {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	pthread_t thread;
	struct work *head, **tail;
	bool quit;
};

static void *queue_main(void *arg)
{
	struct dispatch_queue_s *q = arg;
	struct work *w;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (!q->head && !q->quit)
			pthread_cond_wait(&q->cv, &q->lock);
		if (!q->head)
			break;
		w = q->head;
		q->head = w->next;
		if (!q->head)
			q->tail = &q->head;
		pthread_mutex_unlock(&q->lock);
		w->fn(w->ctx);
		pthread_mutex_lock(&q->lock);
		if (w->done) {
			*w->done = true;
			pthread_cond_broadcast(&q->cv);
		}
		free(w);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

dispatch_queue_t dispatch_queue_create(const char *label, dispatch_queue_attr_t attr)
{
	struct dispatch_queue_s *q = calloc(1, sizeof(*q));

	(void)label;
	(void)attr;
	if (!q)
		return NULL;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->tail = &q->head;
	if (pthread_create(&q->thread, NULL, queue_main, q)) {
		free(q);
		return NULL;
	}
	return q;
}

static void queue_push(dispatch_queue_t q, dispatch_function_t fn, void *ctx, bool *done)
{
	struct work *w = calloc(1, sizeof(*w));

	if (!w)
		abort();	/* test code: out of memory is fatal */
	w->fn = fn;
	w->ctx = ctx;
	w->done = done;
	pthread_mutex_lock(&q->lock);
	*q->tail = w;
	q->tail = &w->next;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->lock);
}

void dispatch_sync_f(dispatch_queue_t q, void *context, dispatch_function_t work)
{
	bool done = false;

	queue_push(q, work, context, &done);
	pthread_mutex_lock(&q->lock);
	while (!done)
		pthread_cond_wait(&q->cv, &q->lock);
	pthread_mutex_unlock(&q->lock);
}

void dispatch_release(dispatch_queue_t q)
{
	pthread_mutex_lock(&q->lock);
	q->quit = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL);
	free(q);
}

/* ---- Mach ports: one handle table for every io_object_t and port ---- */

enum kind { K_FREE, K_ITER, K_SERVICE, K_PCIDEV, K_CONNECT, K_PORT };

struct svc {
	char cls[64];
	unsigned int bus, dev, fn;
};

struct iter {
	struct svc *svcs;
	unsigned int n, pos;
};

struct mapping {
	uint32_t type;
	void *addr;
	uint64_t size;
};

struct conn {
	pthread_mutex_t lock;
	struct dext_client *c;
	pthread_t watcher;
	int stop[2];
	bool dead;
	IOAsyncCallback cb;	/* the armed WaitInterrupt's completion */
	void *refcon;
	dispatch_queue_t cb_queue;
	struct mapping maps[MAX_MAPS];
};

struct IONotificationPort {
	mach_port_t name;
	dispatch_queue_t queue;
};

struct obj {
	enum kind kind;
	union {
		struct iter iter;
		struct svc svc;
		struct conn *conn;
		struct IONotificationPort *port;
	};
};

static pthread_mutex_t obj_lock = PTHREAD_MUTEX_INITIALIZER;
static struct obj objs[MAX_OBJECTS];

static mach_port_t obj_new(enum kind kind, struct obj **out)
{
	mach_port_t name = MACH_PORT_NULL;

	pthread_mutex_lock(&obj_lock);
	for (unsigned int i = 1; i < MAX_OBJECTS; i++) {
		if (objs[i].kind == K_FREE) {
			memset(&objs[i], 0, sizeof(objs[i]));
			objs[i].kind = kind;
			*out = &objs[i];
			name = 0x1000 + i;
			break;
		}
	}
	pthread_mutex_unlock(&obj_lock);
	return name;
}

static struct obj *obj_get(mach_port_t name, enum kind kind)
{
	struct obj *o = NULL;

	pthread_mutex_lock(&obj_lock);
	if (name > 0x1000 && name < 0x1000 + MAX_OBJECTS && objs[name - 0x1000].kind == kind)
		o = &objs[name - 0x1000];
	pthread_mutex_unlock(&obj_lock);
	return o;
}

static void obj_free(struct obj *o)
{
	pthread_mutex_lock(&obj_lock);
	o->kind = K_FREE;
	pthread_mutex_unlock(&obj_lock);
}

mach_port_t mach_task_self(void)
{
	return SHIM_TASK;
}

/* dextd's negative errno as the IOReturn the dext would give (dext-abi.h's table). */
static IOReturn ioreturn_of(int r)
{
	switch (-r) {
#define DEXT_RC_CASE(name, io, err)	case err: return (IOReturn)io;
	DEXT_RETURN_CODES(DEXT_RC_CASE)
#undef DEXT_RC_CASE	/* ECONNRESET: kIOReturnNotAttached, the instance is gone */
	default:
		return (IOReturn)0xe00002ca;	/* kIOReturnIOError */
	}
}

/* ---- the registry ---- */

kern_return_t IOServiceGetMatchingServices(mach_port_t mainPort, CFDictionaryRef matching,
					   io_iterator_t *existing)
{
	struct dext_client *c = NULL;
	struct dext_identity id;
	struct obj *o;
	struct svc *svcs;
	unsigned int n = 0, count = 0;
	bool user_service = !strcmp(((const struct __CFString *)matching)->s, "IOUserService");

	CFRelease(matching);	/* consumed, as IOKit does */
	if (mainPort != kIOMainPortDefault)
		return kIOReturnBadArgument;
	if (user_service && (dext_client_connect(dext_default_socket(), 0, &c) < 0 ||
			     dext_client_count(c, &count) < 0))
		count = 0;
	svcs = calloc(count + 1, sizeof(*svcs));
	if (!svcs) {
		dext_client_close(c);
		return (IOReturn)0xe00002bd;
	}
	if (user_service) {
		/* Another vendor's dext comes first: the transport must pass it by. */
		snprintf(svcs[n++].cls, sizeof(svcs->cls), "%s", OTHER_DEXT_CLASS);
		for (unsigned int i = 0; i < count; i++) {
			if (dext_client_enum(c, i, &id) < 0)
				continue;
			snprintf(svcs[n].cls, sizeof(svcs->cls), "VFIOUserPCIDriver");
			svcs[n].bus = id.bus;
			svcs[n].dev = id.dev;
			svcs[n].fn = id.fn;
			n++;
		}
	}
	dext_client_close(c);
	*existing = obj_new(K_ITER, &o);
	if (!*existing) {
		free(svcs);
		return (IOReturn)0xe00002bd;
	}
	o->iter.svcs = svcs;
	o->iter.n = n;
	return KERN_SUCCESS;
}

io_object_t IOIteratorNext(io_iterator_t iterator)
{
	struct obj *it = obj_get(iterator, K_ITER), *o;
	io_object_t name;

	if (!it || it->iter.pos >= it->iter.n)
		return IO_OBJECT_NULL;
	name = obj_new(K_SERVICE, &o);
	if (name)
		o->svc = it->iter.svcs[it->iter.pos++];
	return name;
}

kern_return_t IOObjectRelease(io_object_t object)
{
	struct obj *o;

	if ((o = obj_get(object, K_ITER)))
		free(o->iter.svcs);
	else if (!(o = obj_get(object, K_SERVICE)) && !(o = obj_get(object, K_PCIDEV)))
		return kIOReturnBadArgument;
	obj_free(o);
	return KERN_SUCCESS;
}

kern_return_t IORegistryEntryGetParentEntry(io_registry_entry_t entry, const char *plane,
					    io_registry_entry_t *parent)
{
	struct obj *s = obj_get(entry, K_SERVICE), *p;

	if (!s || strcmp(plane, kIOServicePlane))
		return kIOReturnBadArgument;
	*parent = obj_new(K_PCIDEV, &p);
	if (!*parent)
		return (IOReturn)0xe00002bd;
	p->svc = s->svc;
	return KERN_SUCCESS;
}

CFTypeRef IORegistryEntryCreateCFProperty(io_registry_entry_t entry, CFStringRef key,
					  CFAllocatorRef allocator, IOOptionBits options)
{
	struct obj *o;
	char v[64];

	(void)allocator;
	(void)options;
	if ((o = obj_get(entry, K_SERVICE)) && !strcmp(key->s, "IOUserClass"))
		return cf_new(CF_STRING, o->svc.cls);
	if ((o = obj_get(entry, K_PCIDEV)) && !strcmp(key->s, "pcidebug") &&
	    strcmp(o->svc.cls, OTHER_DEXT_CLASS)) {
		snprintf(v, sizeof(v), "%u:%u:%u", o->svc.bus, o->svc.dev, o->svc.fn);
		return cf_new(CF_STRING, v);
	}
	return NULL;
}

/* ---- connections ---- */

struct completion {
	IOAsyncCallback cb;
	void *refcon;
	IOReturn result;
};

static void run_completion(void *arg)
{
	struct completion *d = arg;

	d->cb(d->refcon, d->result, NULL, 0);
	free(d);
}

/* Called with k->lock held: queue the armed completion with result. */
static void complete(struct conn *k, IOReturn result)
{
	struct completion *d;

	if (!k->cb)
		return;
	d = malloc(sizeof(*d));
	if (!d)
		abort();
	d->cb = k->cb;
	d->refcon = k->refcon;
	d->result = result;
	k->cb = NULL;
	queue_push(k->cb_queue, run_completion, d, NULL);
}

/* After any call on the socket client: a completion it read on the way is delivered. */
static void deliver(struct conn *k, int r)
{
	if (dext_client_take_wakeup(k->c))
		complete(k, kIOReturnSuccess);
	if (r == -ECONNRESET) {
		k->dead = true;
		complete(k, kIOReturnAborted);
	}
}

/* Stands in for the kernel delivering the dext's async completion. */
static void *watch(void *arg)
{
	struct conn *k = arg;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = k->stop[0], .events = POLLIN },
			{ .fd = k->dead ? -1 : dext_client_fd(k->c), .events = POLLIN },
		};

		if (poll(p, 2, -1) < 0 || p[0].revents)
			return NULL;
		pthread_mutex_lock(&k->lock);
		deliver(k, dext_client_dispatch(k->c));
		pthread_mutex_unlock(&k->lock);
	}
}

kern_return_t IOServiceOpen(io_service_t service, task_port_t owningTask, uint32_t type,
			    io_connect_t *connect)
{
	struct obj *s = obj_get(service, K_SERVICE), *o;
	struct conn *k;
	int r;

	if (!s || owningTask != SHIM_TASK || type != 0)
		return kIOReturnBadArgument;
	if (!strcmp(s->svc.cls, OTHER_DEXT_CLASS))
		return kIOReturnNotPermitted;
	k = calloc(1, sizeof(*k));
	if (!k)
		return (IOReturn)0xe00002bd;
	pthread_mutex_init(&k->lock, NULL);
	r = dext_client_connect(dext_default_socket(), 0, &k->c);
	if (r == 0)
		r = dext_client_open(k->c, s->svc.bus, s->svc.dev, s->svc.fn);
	if (r == 0 && pipe(k->stop) < 0)
		r = -errno;
	if (r == 0 && pthread_create(&k->watcher, NULL, watch, k)) {
		close(k->stop[0]);
		close(k->stop[1]);
		r = -EAGAIN;
	}
	if (r < 0) {
		dext_client_close(k->c);
		free(k);
		return ioreturn_of(r);
	}
	*connect = obj_new(K_CONNECT, &o);
	o->conn = k;
	return KERN_SUCCESS;
}

kern_return_t IOServiceClose(io_connect_t connect)
{
	struct obj *o = obj_get(connect, K_CONNECT);
	struct conn *k;

	if (!o)
		return kIOReturnBadArgument;
	k = o->conn;
	obj_free(o);
	if (write(k->stop[1], "x", 1) != 1)
		abort();
	pthread_join(k->watcher, NULL);
	close(k->stop[0]);
	close(k->stop[1]);
	complete(k, kIOReturnAborted);
	for (unsigned int i = 0; i < MAX_MAPS; i++)
		if (k->maps[i].addr)
			munmap(k->maps[i].addr, k->maps[i].size);
	dext_client_close(k->c);
	free(k);
	return KERN_SUCCESS;
}

kern_return_t IOConnectCallScalarMethod(mach_port_t connection, uint32_t selector,
					const uint64_t *input, uint32_t inputCnt,
					uint64_t *output, uint32_t *outputCnt)
{
	struct obj *o = obj_get(connection, K_CONNECT);
	struct conn *k;
	int r;

	if (!o)
		return MACH_SEND_INVALID_DEST;
	/* WaitInterrupt's dispatch entry requires an async reference. */
	if (selector == DEXT_SEL_WAIT_INTERRUPT)
		return kIOReturnBadArgument;
	k = o->conn;
	pthread_mutex_lock(&k->lock);
	r = dext_call(k->c, selector, input, inputCnt, output, *outputCnt);
	deliver(k, r);
	pthread_mutex_unlock(&k->lock);
	return r < 0 ? ioreturn_of(r) : KERN_SUCCESS;
}

kern_return_t IOConnectCallAsyncScalarMethod(mach_port_t connection, uint32_t selector,
					     mach_port_t wake_port, uint64_t *reference,
					     uint32_t referenceCnt, const uint64_t *input,
					     uint32_t inputCnt, uint64_t *output,
					     uint32_t *outputCnt)
{
	struct obj *o = obj_get(connection, K_CONNECT), *p = obj_get(wake_port, K_PORT);
	struct conn *k;
	int r;

	if (!o)
		return MACH_SEND_INVALID_DEST;
	if (!p || !p->port->queue || referenceCnt < kIOAsyncCalloutCount ||
	    !reference[kIOAsyncCalloutFuncIndex] || selector != DEXT_SEL_WAIT_INTERRUPT)
		return kIOReturnBadArgument;
	k = o->conn;
	pthread_mutex_lock(&k->lock);
	if (inputCnt || *outputCnt) {
		r = dext_call(k->c, selector, input, inputCnt, output, *outputCnt);
	} else {
		/* The dext keeps one completion: a new arm replaces the armed one. */
		IOAsyncCallback prev_cb = k->cb;
		void *prev_refcon = k->refcon;
		dispatch_queue_t prev_queue = k->cb_queue;

		k->cb = (IOAsyncCallback)(uintptr_t)reference[kIOAsyncCalloutFuncIndex];
		k->refcon = (void *)(uintptr_t)reference[kIOAsyncCalloutRefconIndex];
		k->cb_queue = p->port->queue;
		r = dext_wait_interrupt(k->c);
		if (r < 0) {
			k->cb = prev_cb;
			k->refcon = prev_refcon;
			k->cb_queue = prev_queue;
		}
	}
	deliver(k, r);
	pthread_mutex_unlock(&k->lock);
	return r < 0 ? ioreturn_of(r) : KERN_SUCCESS;
}

kern_return_t IOConnectMapMemory64(io_connect_t connect, uint32_t memoryType,
				   task_port_t intoTask, mach_vm_address_t *atAddress,
				   mach_vm_size_t *ofSize, IOOptionBits options)
{
	struct obj *o = obj_get(connect, K_CONNECT);
	struct mapping *m = NULL;
	struct conn *k;
	uint64_t size, off;
	void *a;
	int fd, r;

	if (!o)
		return MACH_SEND_INVALID_DEST;
	if (intoTask != SHIM_TASK || !(options & kIOMapAnywhere))
		return kIOReturnBadArgument;	/* fixed-address maps are not modelled */
	k = o->conn;
	pthread_mutex_lock(&k->lock);
	for (unsigned int i = 0; i < MAX_MAPS && !m; i++)
		if (!k->maps[i].addr)
			m = &k->maps[i];
	r = m ? dext_client_map_memory(k->c, memoryType, &fd, &size, &off) : -ENOSPC;
	deliver(k, r);
	if (r == 0) {
		a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
		close(fd);
		if (a == MAP_FAILED) {
			r = -ENOMEM;
		} else {
			m->type = memoryType;
			m->addr = a;
			m->size = size;
			*atAddress = (mach_vm_address_t)(uintptr_t)a;
			*ofSize = size;
		}
	}
	pthread_mutex_unlock(&k->lock);
	return r < 0 ? ioreturn_of(r) : KERN_SUCCESS;
}

kern_return_t IOConnectUnmapMemory64(io_connect_t connect, uint32_t memoryType,
				     task_port_t fromTask, mach_vm_address_t atAddress)
{
	struct obj *o = obj_get(connect, K_CONNECT);
	kern_return_t kr = kIOReturnBadArgument;
	struct conn *k;

	if (!o)
		return MACH_SEND_INVALID_DEST;
	if (fromTask != SHIM_TASK)
		return kIOReturnBadArgument;
	k = o->conn;
	pthread_mutex_lock(&k->lock);
	for (unsigned int i = 0; i < MAX_MAPS; i++) {
		struct mapping *m = &k->maps[i];

		if (m->addr && m->type == memoryType &&
		    (mach_vm_address_t)(uintptr_t)m->addr == atAddress) {
			munmap(m->addr, m->size);
			m->addr = NULL;
			kr = KERN_SUCCESS;
			break;
		}
	}
	pthread_mutex_unlock(&k->lock);
	return kr;
}

/* ---- notification ports ---- */

IONotificationPortRef IONotificationPortCreate(mach_port_t mainPort)
{
	struct IONotificationPort *p;
	struct obj *o;

	if (mainPort != kIOMainPortDefault || !(p = calloc(1, sizeof(*p))))
		return NULL;
	p->name = obj_new(K_PORT, &o);
	if (!p->name) {
		free(p);
		return NULL;
	}
	o->port = p;
	return p;
}

void IONotificationPortDestroy(IONotificationPortRef notify)
{
	struct obj *o = obj_get(notify->name, K_PORT);

	if (o)
		obj_free(o);
	free(notify);
}

mach_port_t IONotificationPortGetMachPort(IONotificationPortRef notify)
{
	return notify->name;
}

void IONotificationPortSetDispatchQueue(IONotificationPortRef notify, dispatch_queue_t queue)
{
	notify->queue = queue;
}
