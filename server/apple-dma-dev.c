// SPDX-License-Identifier: GPL-2.0-or-later
#include "apple-dma-dev.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vfio-apple/apple-dma-abi.h>
#include <libvfio-user.h>

#include "common/log.h"
#include "ram-alias.h"
#include "ram-share.h"
#include "vfu-util.h"

static void *env_gpa_to_host(void *opaque, uint64_t gpa, uint64_t len, bool write)
{
	struct apple_dma_dev *d = opaque;

	return guest_ram_lookup(&d->ram, gpa, len, write);
}

static int env_register(void *opaque, uint64_t key, void *hva, uint64_t len, uint64_t *bus_addr,
			uint64_t *bus_len)
{
	struct apple_dma_dev *d = opaque;
	int r;

	/*
	 * The platform is gone and so is the device: no DMA can happen. Refusing
	 * maps would make guest drivers retry forever (they treat a failed map
	 * as a passing shortage); an answer lets their I/O reach the dead
	 * device and time out. Not an identity answer, as the reference gives
	 * without a dext: see APPLE_DMA_LOST_BUS_BASE.
	 */
	if (d->link->lost) {
		*bus_addr = APPLE_DMA_LOST_BUS_BASE + key;
		*bus_len = len;
		d->stats.maps_after_loss++;
		return 0;
	}
	/* Book-keep first, so a registration is never unknown to us. */
	r = reg_table_add(&d->regs, key, len);
	if (r < 0)
		return r;
	r = dext_link_check(d->link, dext_register_dma(d->link->client, key, hva, len, bus_addr,
						       bus_len), "RegisterDMARegion");
	if (r < 0) {
		reg_table_del(&d->regs, key);
		log_ratelimited(&d->rl_map, LOG_LVL_DEBUG, "apple-dma: map gpa 0x%llx len 0x%llx: %s",
				(unsigned long long)key, (unsigned long long)len, strerror(-r));
	}
	return r;
}

static int env_unregister(void *opaque, uint64_t key)
{
	struct apple_dma_dev *d = opaque;
	int r;

	if (!reg_table_has(&d->regs, key))
		return d->link->lost ? 0 : -ENOENT;
	r = dext_link_check(d->link, dext_unregister_dma(d->link->client, key),
			    "UnregisterDMARegion");
	/* Gone from the dext either way once it says so, or once it is lost. */
	if (r == 0 || r == -ENOENT || r == -ENODEV)
		reg_table_del(&d->regs, key);
	return r == -ENODEV ? 0 : r;
}

static void doorbell(struct apple_dma_dev *d)
{
	const struct apple_dma_batch_env env = {
		.gpa_to_host = env_gpa_to_host,
		.dma_register = env_register,
		.dma_unregister = env_unregister,
		.opaque = d,
		.max_entries = d->max_entries,
	};

	/* Bounded in time with the rest of the request (dext_link_request_begin()). */
	d->status = apple_dma_batch_process(&env, d->cmd_gpa, &d->stats.batch);
	switch (d->status) {
	case APPLE_DMA_STATUS_OK:
		d->stats.status_ok++;
		break;
	case APPLE_DMA_STATUS_IOERR:
		d->stats.status_ioerr++;
		break;
	default:
		d->stats.status_inval++;
		/* A guest error: logged (bounded), the device keeps serving. */
		log_ratelimited(&d->rl_reject, LOG_LVL_WARN, "apple-dma: batch rejected: %s",
				apple_dma_batch_reject_str(d->stats.batch.last_reject));
		break;
	}
}

static uint32_t reg_read(struct apple_dma_dev *d, uint64_t off)
{
	switch (off) {
	case APPLE_DMA_REG_VERSION:
		return APPLE_DMA_VERSION;
	case APPLE_DMA_REG_MANAGED_BDF:
		return d->managed_bdf;
	case APPLE_DMA_REG_MAX_ENTRIES:
		return d->max_entries;
	case APPLE_DMA_REG_STATUS:
		return d->status;
	case APPLE_DMA_REG_FEATURES:
		return d->scratch_fd >= 0 ? APPLE_DMA_FEATURE_SYNC_DOORBELL : 0;
	default:
		return 0;	/* write-only and unused registers read as 0 */
	}
}

static void reg_write(struct apple_dma_dev *d, uint64_t off, uint32_t v)
{
	switch (off) {
	case APPLE_DMA_REG_CMD_GPA_LO:
		d->cmd_gpa = (d->cmd_gpa & ~0xffffffffull) | v;
		break;
	case APPLE_DMA_REG_CMD_GPA_HI:
		d->cmd_gpa = (d->cmd_gpa & 0xffffffffull) | (uint64_t)v << 32;
		break;
	case APPLE_DMA_REG_DOORBELL:
		doorbell(d);
		break;
	default:
		break;	/* read-only and unused: ignored */
	}
}

/* BAR0: 32-bit registers; wider accesses are split, narrower ones ignored. */
static ssize_t bar0_access(vfu_ctx_t *ctx, char *buf, size_t count, loff_t offset, bool is_write)
{
	struct apple_dma_dev *d = vfu_get_private(ctx);

	if (offset < 0 || (uint64_t)offset + count > APPLE_DMA_BAR0_SIZE) {
		errno = EINVAL;
		return -1;
	}
	if ((offset & 3) || (count & 3)) {
		d->stats.bad_accesses++;
		log_ratelimited(&d->rl_access, LOG_LVL_WARN,
				"apple-dma: guest error: %zu-byte access at 0x%llx ignored (4-byte only)",
				count, (unsigned long long)offset);
		if (!is_write)
			memset(buf, 0, count);
		return (ssize_t)count;
	}
	for (size_t i = 0; i < count; i += 4) {
		uint32_t v;

		if (is_write) {
			memcpy(&v, buf + i, 4);
			reg_write(d, (uint64_t)offset + i, le32toh(v));
		} else {
			v = htole32(reg_read(d, (uint64_t)offset + i));
			memcpy(buf + i, &v, 4);
		}
	}
	return (ssize_t)count;
}

/* The scratch BAR through the socket (QEMU normally maps it): no function. */
static ssize_t scratch_access(vfu_ctx_t *ctx, char *buf, size_t count, loff_t offset,
			      bool is_write)
{
	(void)ctx;
	(void)offset;
	if (!is_write)
		memset(buf, 0, count);
	return (ssize_t)count;
}

/*
 * QEMU's vfio-user client posts writes to a device's BARs (the write returns
 * to the vCPU before we have processed it) unless one of the device's
 * regions is mmappable: then every write waits for our reply. The scratch
 * BAR is that region, so that a DOORBELL write completes only once the batch
 * is done, as on the reference platform, whatever the QEMU command line
 * says. One area covering the whole region (libvfio-user handles at most
 * one sparse area per region correctly).
 */
static int setup_scratch_bar(struct apple_dma_dev *d)
{
	long page = sysconf(_SC_PAGESIZE);
	int fd;

	if (page <= 0)
		return -EINVAL;
	fd = memfd_create("apple-dma-scratch", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, page) < 0 ||
	    vfu_setup_region(d->ctx, VFU_PCI_DEV_BAR0_REGION_IDX + APPLE_DMA_SCRATCH_BAR,
			     (size_t)page, scratch_access, VFU_REGION_FLAG_RW | VFU_REGION_FLAG_MEM,
			     NULL, 0, fd, 0) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	d->scratch_fd = fd;
	return 0;
}

/*
 * Shares a guest RAM region's fd with the dext (a Linux transport
 * extension), so that device DMA into it is done in place; the DART still
 * checks every access. Read-only regions are not shared: the dext's write
 * must fail there as it does by address. Without sharing, the dext reaches
 * the region with process_vm_readv/writev.
 */
static void share_ram(struct apple_dma_dev *d, void *vaddr, void *hva, size_t len, uint64_t gpa)
{
	uint64_t offset;
	int fd, r;

	if (!d->share_ram || d->link->lost)
		return;
	r = ram_share_fd(vaddr, &fd, &offset);
	if (r == 0) {
		r = dext_link_check(d->link, dext_client_share_memory(d->link->client, hva, len, fd,
								      offset),
				    "share guest RAM");
		close(fd);
	}
	if (r < 0) {
		d->stats.ram_share_failed++;
		log_info("apple-dma: guest RAM [0x%llx, +0x%zx) not shared with the dext (%s): "
			 "reached by address", (unsigned long long)gpa, len, strerror(-r));
		return;
	}
	d->stats.ram_shared++;
	log_debug("apple-dma: guest RAM [0x%llx, +0x%zx) shared with the dext",
		  (unsigned long long)gpa, len);
}

static void dma_register_cb(vfu_ctx_t *ctx, vfu_dma_info_t *info)
{
	struct apple_dma_dev *d = vfu_get_private(ctx);
	uint64_t gpa = (uint64_t)(uintptr_t)info->iova.iov_base;
	/* libvfio-user maps read-only RAM (ROM, BIOS) PROT_READ: never store there. */
	bool writable = info->prot & PROT_WRITE;
	void *hva = info->vaddr;
	int r;

	/* Register addresses congruent to the GPA modulo 16 KiB, as on a Mac (ram-alias.h). */
	if (hva && !ram_congruent(hva, gpa)) {
		hva = ram_alias_congruent(info->vaddr, info->iova.iov_len, gpa);
		if (!hva) {
			log_warn("apple-dma: guest RAM [0x%llx, +0x%zx): no 16 KiB-congruent mapping: %s",
				 (unsigned long long)gpa, info->iova.iov_len, strerror(errno));
			hva = info->vaddr;
		}
	}
	r = guest_ram_add(&d->ram, gpa, info->iova.iov_len, hva, writable);
	if (r < 0 && hva != info->vaddr)
		munmap(hva, info->iova.iov_len);
	if (r < 0)
		log_ratelimited(&d->rl_ram, LOG_LVL_WARN,
				"apple-dma: guest RAM [0x%llx, +0x%zx) not usable: %s",
				(unsigned long long)gpa, info->iova.iov_len, strerror(-r));
	else
		log_ratelimited(writable ? &d->rl_ram : &d->rl_ram_ro,
				writable ? LOG_LVL_DEBUG : LOG_LVL_INFO,
				"apple-dma: guest RAM [0x%llx, +0x%zx)%s%s",
				(unsigned long long)gpa, info->iova.iov_len,
				info->vaddr ? "" : " (no fd: unreachable)",
				writable ? "" : " read-only: never written");
	if (r == 0 && hva && writable)
		share_ram(d, info->vaddr, hva, info->iova.iov_len, gpa);
}

static void dma_unregister_cb(vfu_ctx_t *ctx, vfu_dma_info_t *info)
{
	struct apple_dma_dev *d = vfu_get_private(ctx);
	uint64_t gpa = (uint64_t)(uintptr_t)info->iova.iov_base, len = info->iova.iov_len;
	uint64_t keys[256];
	void *hva;
	size_t n;

	/*
	 * The region's mapping in this process goes when we return: first make
	 * the DART stop pointing into it. Rare (boot-time PAM churn), so a scan.
	 */
	while ((n = reg_table_overlapping(&d->regs, gpa, len, keys, 256)) > 0) {
		for (size_t i = 0; i < n && i < 256; i++) {
			if (env_unregister(d, keys[i]) < 0)
				reg_table_del(&d->regs, keys[i]);
			d->stats.dropped_on_ram_removal++;
		}
	}
	hva = guest_ram_lookup(&d->ram, gpa, len, false);
	/* Unshared (the dext drains its accesses first) before the mapping goes. */
	if (hva && d->share_ram && !d->link->lost)
		dext_link_check(d->link, dext_client_unshare_memory(d->link->client, hva),
				"unshare guest RAM");
	guest_ram_remove(&d->ram, gpa, len);
	if (hva && hva != info->vaddr)
		munmap(hva, len);	/* the congruent alias */
}

/* Drops every registration the guest made: its DMA state is gone. */
static void forget_guest_mappings(struct apple_dma_dev *d)
{
	size_t dropped = d->regs.n;

	for (size_t i = 0; i < d->regs.cap; i++) {
		const struct reg_entry *e = &d->regs.slots[i];

		if (e->len && !d->link->lost)
			dext_link_check(d->link, dext_unregister_dma(d->link->client, e->key),
					"UnregisterDMARegion");
	}
	reg_table_free(&d->regs);
	if (dropped)
		log_ratelimited(&d->rl_ram, LOG_LVL_INFO,
				"apple-dma: reset dropped %zu live registration%s", dropped,
				dropped == 1 ? "" : "s");
}

/*
 * A device reset (the VM reboots, or the guest resets the function): the
 * guest's mappings and its command page belong to the old world.
 */
static int reset_cb(vfu_ctx_t *ctx, vfu_reset_type_t type)
{
	struct apple_dma_dev *d = vfu_get_private(ctx);

	(void)type;
	forget_guest_mappings(d);
	d->cmd_gpa = 0;
	d->status = APPLE_DMA_STATUS_OK;
	return 0;
}

int apple_dma_dev_create(struct apple_dma_dev *d, const char *socket_path,
			 struct dext_link *link, uint32_t managed_bdf, uint32_t max_entries,
			 bool posted_doorbells)
{
	int r;

	memset(d, 0, sizeof(*d));
	d->scratch_fd = -1;
	reg_table_init(&d->regs);
	d->link = dext_link_get(link);
	d->managed_bdf = managed_bdf;
	d->max_entries = max_entries;
	d->status = APPLE_DMA_STATUS_OK;
	d->rl_reject = d->rl_access = d->rl_map = d->rl_ram = d->rl_ram_ro =
		(struct ratelimit)RATELIMIT_DEFAULT;

	d->ctx = vfu_create_ctx(VFU_TRANS_SOCK, socket_path, LIBVFIO_USER_FLAG_ATTACH_NB, d,
				VFU_DEV_TYPE_PCI);
	if (!d->ctx)
		return log_err_errno(-errno, "apple-dma: vfio-user socket %s", socket_path);
	vfu_log_attach(d->ctx, "apple-dma");
	if (vfu_pci_init(d->ctx, VFU_PCI_TYPE_CONVENTIONAL, PCI_HEADER_TYPE_NORMAL, 0) < 0)
		return log_err_errno(-errno, "apple-dma: vfu_pci_init");
	vfu_pci_set_id(d->ctx, APPLE_DMA_PCI_VENDOR_ID, APPLE_DMA_PCI_DEVICE_ID,
		       APPLE_DMA_PCI_VENDOR_ID, 0x1100);
	vfu_pci_set_class(d->ctx, APPLE_DMA_PCI_CLASS >> 8, APPLE_DMA_PCI_CLASS & 0xff, 0);
	if (vfu_setup_region(d->ctx, VFU_PCI_DEV_BAR0_REGION_IDX, APPLE_DMA_BAR0_SIZE, bar0_access,
			     VFU_REGION_FLAG_RW | VFU_REGION_FLAG_MEM, NULL, 0, -1, 0) < 0 ||
	    vfu_setup_device_dma(d->ctx, dma_register_cb, dma_unregister_cb) < 0 ||
	    vfu_setup_device_reset_cb(d->ctx, reset_cb) < 0)
		return log_err_errno(-errno, "apple-dma: vfio-user setup");
	if (!posted_doorbells) {
		r = setup_scratch_bar(d);
		if (r < 0)
			return log_err_errno(r, "apple-dma: scratch BAR");
	}
	if (vfu_realize_ctx(d->ctx) < 0)
		return log_err_errno(-errno, "apple-dma: vfio-user setup");
	log_info("apple-dma: 1b36:0015 for guest %02x:%02x.%x, %u entries per batch, %s doorbells, on %s",
		 managed_bdf >> 8, (managed_bdf >> 3) & 0x1f, managed_bdf & 7, max_entries,
		 posted_doorbells ? "posted" : "synchronous", socket_path);
	return 0;
}

void apple_dma_dev_destroy(struct apple_dma_dev *d)
{
	if (d->ctx)
		vfu_destroy_ctx(d->ctx);
	d->ctx = NULL;
	reg_table_free(&d->regs);
	dext_link_put(d->link);
	d->link = NULL;
	if (d->scratch_fd >= 0)
		close(d->scratch_fd);
	d->scratch_fd = -1;
}

int apple_dma_dev_poll_fd(struct apple_dma_dev *d)
{
	return vfu_get_poll_fd(d->ctx);
}

int apple_dma_dev_run(struct apple_dma_dev *d)
{
	return vfu_endpoint_serve(d->ctx, &d->attached, "apple-dma");
}
