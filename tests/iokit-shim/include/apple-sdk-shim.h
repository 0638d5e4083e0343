/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Stands in for the macOS SDK headers on Linux, for the test shim only
 * (iokit-shim.c): exactly the types, constants and functions that
 * lib/dext-client/transport-iokit.c uses, with Apple's names and
 * signatures (values of constants as in the SDK). Not shipped.
 */
#ifndef APPLE_SDK_SHIM_H
#define APPLE_SDK_SHIM_H

#include <stdbool.h>
#include <stdint.h>

/* <mach/mach.h> */
typedef int kern_return_t;
typedef unsigned int natural_t;
typedef natural_t mach_port_t;
typedef mach_port_t task_port_t;
typedef uint64_t mach_vm_address_t;
typedef uint64_t mach_vm_size_t;
#define KERN_SUCCESS		0
#define MACH_PORT_NULL		((mach_port_t)0)
#define MACH_SEND_INVALID_DEST	0x10000003
mach_port_t mach_task_self(void);

/* <CoreFoundation/CoreFoundation.h> */
typedef const void *CFTypeRef;
typedef const struct __CFString *CFStringRef;
typedef const struct __CFDictionary *CFDictionaryRef;
typedef struct __CFDictionary *CFMutableDictionaryRef;
typedef const struct __CFAllocator *CFAllocatorRef;
typedef unsigned long CFTypeID;
typedef long CFIndex;
typedef unsigned char Boolean;
typedef uint32_t CFStringEncoding;
#define kCFAllocatorDefault	((CFAllocatorRef)0)
#define kCFStringEncodingUTF8	0x08000100
CFStringRef __CFStringMakeConstantString(const char *cStr);
#define CFSTR(s)		__CFStringMakeConstantString("" s "")
CFTypeID CFGetTypeID(CFTypeRef cf);
CFTypeID CFStringGetTypeID(void);
Boolean CFStringGetCString(CFStringRef theString, char *buffer, CFIndex bufferSize,
			   CFStringEncoding encoding);
void CFRelease(CFTypeRef cf);

/* <dispatch/dispatch.h> (C, no blocks) */
typedef struct dispatch_queue_s *dispatch_queue_t;
typedef struct dispatch_queue_attr_s *dispatch_queue_attr_t;
typedef void (*dispatch_function_t)(void *);
#define DISPATCH_QUEUE_SERIAL	((dispatch_queue_attr_t)0)
dispatch_queue_t dispatch_queue_create(const char *label, dispatch_queue_attr_t attr);
void dispatch_sync_f(dispatch_queue_t queue, void *context, dispatch_function_t work);
void dispatch_release(dispatch_queue_t object);

/* <IOKit/IOKitLib.h>, <IOKit/IOReturn.h>, <IOKit/IOTypes.h> */
typedef kern_return_t IOReturn;
typedef uint32_t IOOptionBits;
typedef mach_port_t io_object_t;
typedef io_object_t io_connect_t;
typedef io_object_t io_iterator_t;
typedef io_object_t io_registry_entry_t;
typedef io_object_t io_service_t;
typedef char io_name_t[128];
typedef uint64_t io_async_ref64_t[8];
typedef struct IONotificationPort *IONotificationPortRef;
typedef void (*IOAsyncCallback)(void *refcon, IOReturn result, void **args, uint32_t numArgs);

#define IO_OBJECT_NULL			((io_object_t)0)
#define kIOMainPortDefault		((mach_port_t)0)
#define kIOServicePlane			"IOService"
#define kIOReturnSuccess		KERN_SUCCESS
#define kIOReturnExclusiveAccess	((IOReturn)0xe00002c5)
#define kIOReturnNotAttached		((IOReturn)0xe00002d9)
#define kIOReturnNotPermitted		((IOReturn)0xe00002e2)
#define kIOReturnAborted		((IOReturn)0xe00002eb)
#define kIOReturnBadArgument		((IOReturn)0xe00002c2)
#define kIOReturnUnsupported		((IOReturn)0xe00002c7)
#define kIOReturnNoDevice		((IOReturn)0xe00002c0)
enum {
	kIOMapAnywhere = 0x00000001,
	kIOMapWriteCombineCache = 0x00000400,
};
enum {
	kIOAsyncReservedIndex = 0,
	kIOAsyncReservedCount,
	kIOAsyncCalloutFuncIndex = kIOAsyncReservedCount,
	kIOAsyncCalloutRefconIndex,
	kIOAsyncCalloutCount,
};

CFMutableDictionaryRef IOServiceMatching(const char *name);
kern_return_t IOServiceGetMatchingServices(mach_port_t mainPort, CFDictionaryRef matching,
					   io_iterator_t *existing);
io_object_t IOIteratorNext(io_iterator_t iterator);
kern_return_t IOObjectRelease(io_object_t object);
CFTypeRef IORegistryEntryCreateCFProperty(io_registry_entry_t entry, CFStringRef key,
					  CFAllocatorRef allocator, IOOptionBits options);
/* The SDK spells plane "const io_name_t": the same type once decayed, without GCC's bound check. */
kern_return_t IORegistryEntryGetParentEntry(io_registry_entry_t entry, const char *plane,
					    io_registry_entry_t *parent);
kern_return_t IOServiceOpen(io_service_t service, task_port_t owningTask, uint32_t type,
			    io_connect_t *connect);
kern_return_t IOServiceClose(io_connect_t connect);
kern_return_t IOConnectCallScalarMethod(mach_port_t connection, uint32_t selector,
					const uint64_t *input, uint32_t inputCnt,
					uint64_t *output, uint32_t *outputCnt);
kern_return_t IOConnectCallAsyncScalarMethod(mach_port_t connection, uint32_t selector,
					     mach_port_t wake_port, uint64_t *reference,
					     uint32_t referenceCnt, const uint64_t *input,
					     uint32_t inputCnt, uint64_t *output,
					     uint32_t *outputCnt);
kern_return_t IOConnectMapMemory64(io_connect_t connect, uint32_t memoryType,
				   task_port_t intoTask, mach_vm_address_t *atAddress,
				   mach_vm_size_t *ofSize, IOOptionBits options);
kern_return_t IOConnectUnmapMemory64(io_connect_t connect, uint32_t memoryType,
				     task_port_t fromTask, mach_vm_address_t atAddress);
IONotificationPortRef IONotificationPortCreate(mach_port_t mainPort);
void IONotificationPortDestroy(IONotificationPortRef notify);
mach_port_t IONotificationPortGetMachPort(IONotificationPortRef notify);
void IONotificationPortSetDispatchQueue(IONotificationPortRef notify, dispatch_queue_t queue);

#endif /* APPLE_SDK_SHIM_H */
