// SPDX-License-Identifier: GPL-2.0-only
/*
 * apple_dma: PCI driver for apple-dma-pci (1b36:0015), ABI version 2.
 *
 * Probe finds the managed passthrough device named by MANAGED_BDF, sets up
 * the command page, and replaces that device's DMA ops with a
 * per-instance copy of ours. A PCI bus notifier puts them back if a
 * driver bind cleared them (arm64 6.1 clears a device's DMA ops on unbind).
 *
 * While the managed device has a driver, that driver may free or unmap
 * through our ops at any time (dma-direct given our bus addresses would
 * free unrelated pages): the instance then holds a reference on this
 * module, so rmmod is refused. Remove (an unbind of apple-dma-pci, or its
 * removal) first unbinds the managed device's driver, so that it frees
 * everything through us, then restores the original ops with no driver
 * bound, then unregisters every host mapping that is left, so a reload
 * starts with no stale host keys.
 *
 * Load this module before the managed device's driver binds (initramfs or
 * modules-load.d); mappings made before that are not known to us.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/io.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/rcupdate.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "apple_dma.h"

static unsigned int max_batch = 256;
module_param(max_batch, uint, 0444);
MODULE_PARM_DESC(max_batch,
		 "Entries per doorbell (default 256, capped to the device's MAX_ENTRIES)");

static unsigned int window_shift = 18;
module_param(window_shift, uint, 0444);
MODULE_PARM_DESC(window_shift,
		 "log2 of the shared mapping window (default 18 = 256 KiB, 0 disables, else 14..30)");

static char *doorbell_status = "auto";
module_param(doorbell_status, charp, 0444);
MODULE_PARM_DESC(doorbell_status,
		 "How a doorbell completes: auto (read STATUS unless FEATURES promises synchronous doorbells), always (read STATUS), never (read only the command page, as guests written for the reference platform do; a test mode)");

/*
 * The mapping cache (apple_dma_cache.c). strict=1 gives strict semantics:
 * once dma_unmap returns, the range is gone from the DART. Both strict and
 * cache_idle_ms may be changed at run time: setting strict releases every
 * idle mapping at once, a new cache_idle_ms is applied at once.
 */
static LIST_HEAD(apple_dma_instances);
static DEFINE_MUTEX(apple_dma_instances_lock);

static void apple_dma_params_changed(bool flush)
{
	struct apple_dma *ad;

	mutex_lock(&apple_dma_instances_lock);
	list_for_each_entry(ad, &apple_dma_instances, node) {
		if (flush)
			apple_dma_cache_flush(ad);
		else
			apple_dma_cache_kick(ad);
	}
	mutex_unlock(&apple_dma_instances_lock);
}

static int apple_dma_set_strict(const char *val, const struct kernel_param *kp)
{
	int ret = param_set_bool(val, kp);

	if (!ret && READ_ONCE(apple_dma_strict))
		apple_dma_params_changed(true);
	return ret;
}

static int apple_dma_set_idle_ms(const char *val, const struct kernel_param *kp)
{
	int ret = param_set_uint(val, kp);

	if (!ret)
		apple_dma_params_changed(false);
	return ret;
}

static const struct kernel_param_ops apple_dma_strict_ops = {
	.set = apple_dma_set_strict,
	.get = param_get_bool,
};

static const struct kernel_param_ops apple_dma_idle_ms_ops = {
	.set = apple_dma_set_idle_ms,
	.get = param_get_uint,
};

bool apple_dma_strict;
module_param_cb(strict, &apple_dma_strict_ops, &apple_dma_strict, 0644);
MODULE_PARM_DESC(strict,
		 "1: unregister a mapping before dma_unmap returns; 0 (default): keep idle mappings registered for reuse, like iommu.strict=0");

unsigned int apple_dma_cache_idle_ms = 20;
module_param_cb(cache_idle_ms, &apple_dma_idle_ms_ops, &apple_dma_cache_idle_ms, 0644);
MODULE_PARM_DESC(cache_idle_ms,
		 "Idle mappings are unregistered after this many ms (default 20)");

unsigned int apple_dma_cache_max_mappings = 1024;
module_param_named(cache_max_mappings, apple_dma_cache_max_mappings, uint, 0644);
MODULE_PARM_DESC(cache_max_mappings,
		 "Idle mappings kept at most (default 1024; the platform allows 65536 live)");

unsigned long apple_dma_cache_max_bytes = SZ_256M;
module_param_named(cache_max_bytes, apple_dma_cache_max_bytes, ulong, 0644);
MODULE_PARM_DESC(cache_max_bytes,
		 "Bytes of idle mappings kept at most (default 256 MiB; the platform allows 1.5 GiB live)");

static struct dentry *apple_dma_debugfs_root;

/* ---- debugfs --------------------------------------------------------------- */

#define APPLE_DMA_STAT(name) { #name, offsetof(struct apple_dma_stats, name) }

static const struct {
	const char *name;
	size_t offset;
} apple_dma_stat_fields[] = {
	APPLE_DMA_STAT(maps),
	APPLE_DMA_STAT(unmaps),
	APPLE_DMA_STAT(doorbells),
	APPLE_DMA_STAT(entries),
	APPLE_DMA_STAT(max_entries_per_doorbell),
	APPLE_DMA_STAT(window_hits),
	APPLE_DMA_STAT(host_maps),
	APPLE_DMA_STAT(host_unmaps),
	APPLE_DMA_STAT(map_failures),
	APPLE_DMA_STAT(unmap_unknown),
	APPLE_DMA_STAT(collisions),
	APPLE_DMA_STAT(live_mappings),
	APPLE_DMA_STAT(live_bytes),
	APPLE_DMA_STAT(peak_mappings),
	APPLE_DMA_STAT(peak_bytes),
	APPLE_DMA_STAT(host_map_errors),
	APPLE_DMA_STAT(host_unmap_errors),
	APPLE_DMA_STAT(status_reads),
	APPLE_DMA_STAT(cache_hits),
	APPLE_DMA_STAT(evictions),
	APPLE_DMA_STAT(nospc_evictions),
	APPLE_DMA_STAT(idle_mappings),
	APPLE_DMA_STAT(idle_bytes),
	APPLE_DMA_STAT(doorbell_waits),
	APPLE_DMA_STAT(max_irqs_off_us),
	APPLE_DMA_STAT(lock_holds),
	APPLE_DMA_STAT(lookups),
};

static int apple_dma_stats_show(struct seq_file *m, void *unused)
{
	struct apple_dma_stats s;
	size_t i;

	apple_dma_snapshot_stats(m->private, &s);
	for (i = 0; i < ARRAY_SIZE(apple_dma_stat_fields); i++)
		seq_printf(m, "%s %llu\n", apple_dma_stat_fields[i].name,
			   *(u64 *)((u8 *)&s + apple_dma_stat_fields[i].offset));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(apple_dma_stats);

static int apple_dma_mappings_show(struct seq_file *m, void *unused)
{
	apple_dma_dump_mappings(m->private, m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(apple_dma_mappings);

static void apple_dma_debugfs_init(struct apple_dma *ad)
{
	ad->debugfs = debugfs_create_dir(pci_name(ad->pdev),
					 apple_dma_debugfs_root);
	debugfs_create_file("stats", 0444, ad->debugfs, ad,
			    &apple_dma_stats_fops);
	debugfs_create_file("mappings", 0444, ad->debugfs, ad,
			    &apple_dma_mappings_fops);
	debugfs_create_u32("max_batch", 0444, ad->debugfs, &ad->max_batch);
	debugfs_create_bool("sync_doorbell", 0444, ad->debugfs, &ad->sync_doorbell);
}

/* ---- ops install / restore ------------------------------------------------- */

/* Managed device lock held. A failure only means we are being unloaded. */
static void apple_dma_hold_module(struct apple_dma *ad)
{
	if (!ad->holds_module)
		ad->holds_module = try_module_get(THIS_MODULE);
}

static void apple_dma_drop_module(struct apple_dma *ad)
{
	if (ad->holds_module)
		module_put(THIS_MODULE);
	ad->holds_module = false;
}

/*
 * Runs (process context, bus notifier chain) after the bus has configured
 * DMA for a device being bound and before the driver's probe: re-install
 * our ops if the bind cleared or replaced them.
 */
static int apple_dma_bus_notify(struct notifier_block *nb,
				unsigned long action, void *data)
{
	struct apple_dma *ad = container_of(nb, struct apple_dma, nb);
	struct device *dev = data;
	const struct dma_map_ops *cur;

	/* All three run under the managed device's lock. */
	if (dev != &ad->managed->dev)
		return NOTIFY_DONE;
	if (action == BUS_NOTIFY_UNBOUND_DRIVER ||
	    action == BUS_NOTIFY_DRIVER_NOT_BOUND) {
		apple_dma_drop_module(ad);
		return NOTIFY_OK;
	}
	if (action != BUS_NOTIFY_BIND_DRIVER || READ_ONCE(ad->dying))
		return NOTIFY_DONE;

	/* From before the driver's probe: it may map during probe. */
	apple_dma_hold_module(ad);
	cur = get_dma_ops(dev);
	if (cur == &ad->ops)
		return NOTIFY_OK;

	/* whatever the bus set up now is what we build on */
	WRITE_ONCE(ad->orig, cur);
	set_dma_ops(dev, &ad->ops);
	dev_info(&ad->pdev->dev,
		 "re-installed DMA ops on %s before its driver probes (underlying ops %s)\n",
		 pci_name(ad->managed), cur ? "replaced" : "dma-direct");
	return NOTIFY_OK;
}

/* Notifier registered: a bind from now on is seen by it. */
static void apple_dma_install_ops(struct apple_dma *ad)
{
	struct device *dev = &ad->managed->dev;

	device_lock(dev);
	WRITE_ONCE(ad->orig, get_dma_ops(dev));
	set_dma_ops(dev, &ad->ops);
	if (dev->driver)
		apple_dma_hold_module(ad);
	device_unlock(dev);
}

/*
 * After this no op runs on @ad any more: the managed device has no driver
 * (its driver was unbound first, so it freed through us), new calls see
 * the original ops (or the dying flag), running ones have dropped their
 * use count, and the last of them has left its RCU read section.
 */
static void apple_dma_restore_ops(struct apple_dma *ad)
{
	struct device *dev = &ad->managed->dev;

	/* The ops change with the device lock held and no driver bound. */
	for (;;) {
		device_lock(dev);
		if (!dev->driver)
			break;
		dev_warn(&ad->pdev->dev,
			 "unbinding %s from %s first: its DMA goes through us\n",
			 pci_name(ad->managed), dev->driver->name);
		device_unlock(dev);
		device_release_driver(dev);
	}
	WRITE_ONCE(ad->dying, true);
	if (get_dma_ops(dev) == &ad->ops)
		set_dma_ops(dev, READ_ONCE(ad->orig));
	apple_dma_drop_module(ad);
	device_unlock(dev);
	synchronize_rcu();
	wait_event(ad->drain_wq, !atomic_read(&ad->users));
	synchronize_rcu();
}

/* ---- probe / remove ---------------------------------------------------------- */

static int apple_dma_alloc_buffers(struct apple_dma *ad)
{
	u32 n = ad->max_batch;

	/*
	 * The host reads these through their guest-physical addresses:
	 * kmalloc memory is physically contiguous and in the linear map, so
	 * virt_to_phys() is valid (a VMAP_STACK or vmalloc buffer would not be).
	 */
	ad->cmd = kzalloc(sizeof(*ad->cmd), GFP_KERNEL);
	ad->req = kcalloc(n, max(sizeof(struct apple_dma_map_req),
				 sizeof(struct apple_dma_unmap_req)),
			  GFP_KERNEL);
	ad->resp = kcalloc(n, max(sizeof(struct apple_dma_map_resp),
				  sizeof(struct apple_dma_unmap_resp)),
			   GFP_KERNEL);
	ad->batch = kcalloc(n, sizeof(*ad->batch), GFP_KERNEL);
	if (!ad->cmd || !ad->req || !ad->resp || !ad->batch)
		return -ENOMEM;

	ad->cmd_gpa = virt_to_phys(ad->cmd);
	ad->req_gpa = virt_to_phys(ad->req);
	ad->resp_gpa = virt_to_phys(ad->resp);
	return 0;
}

static void apple_dma_free_buffers(struct apple_dma *ad)
{
	kfree(ad->batch);
	kfree(ad->resp);
	kfree(ad->req);
	kfree(ad->cmd);
}

static struct pci_dev *apple_dma_find_managed(struct pci_dev *pdev, u32 bdf)
{
	struct pci_dev *managed;

	managed = pci_get_domain_bus_and_slot(pci_domain_nr(pdev->bus),
					      PCI_BUS_NUM(bdf), bdf & 0xff);
	if (!managed) {
		dev_err(&pdev->dev,
			"managed device %02x:%02x.%d (MANAGED_BDF %#x) not found\n",
			PCI_BUS_NUM(bdf), PCI_SLOT(bdf & 0xff),
			PCI_FUNC(bdf & 0xff), bdf);
		return NULL;
	}
	if (managed == pdev || pci_is_bridge(managed) ||
	    (managed->class >> 8) == PCI_CLASS_BRIDGE_HOST) {
		dev_err(&pdev->dev,
			"MANAGED_BDF %#x names %s, which cannot be a passthrough device\n",
			bdf, pci_name(managed));
		pci_dev_put(managed);
		return NULL;
	}
	return managed;
}

static int apple_dma_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	u32 version, max_entries, bdf, features;
	struct apple_dma *ad;
	int ret;

	if (strcmp(doorbell_status, "auto") && strcmp(doorbell_status, "always") &&
	    strcmp(doorbell_status, "never")) {
		dev_err(&pdev->dev, "doorbell_status=%s: use auto, always or never\n",
			doorbell_status);
		return -EINVAL;
	}

	if (window_shift && (window_shift < APPLE_DMA_WINDOW_SHIFT_MIN ||
			     window_shift > APPLE_DMA_WINDOW_SHIFT_MAX)) {
		dev_err(&pdev->dev, "window_shift=%u: use 0 or %d..%d\n",
			window_shift, APPLE_DMA_WINDOW_SHIFT_MIN,
			APPLE_DMA_WINDOW_SHIFT_MAX);
		return -EINVAL;
	}

	ad = kzalloc(sizeof(*ad), GFP_KERNEL);
	if (!ad)
		return -ENOMEM;
	ad->pdev = pdev;
	ad->ops = apple_dma_ops_template;
	ad->window_shift = window_shift;
	ad->by_base = RB_ROOT;
	ad->by_bus = RB_ROOT;
	spin_lock_init(&ad->lock);
	spin_lock_init(&ad->db_lock);
	apple_dma_cache_init(ad);
	atomic_set(&ad->users, 0);
	init_waitqueue_head(&ad->drain_wq);

	ret = pci_enable_device(pdev);
	if (ret)
		goto err_free;
	ret = pci_request_regions(pdev, KBUILD_MODNAME);
	if (ret)
		goto err_disable;
	ad->regs = pci_iomap(pdev, 0, APPLE_DMA_BAR0_SIZE);
	if (!ad->regs) {
		ret = -ENOMEM;
		goto err_release;
	}
	pci_set_master(pdev);

	version = readl(ad->regs + APPLE_DMA_REG_VERSION);
	if (version != APPLE_DMA_VERSION) {
		dev_err(&pdev->dev,
			"protocol version %u not supported (this driver speaks %u)\n",
			version, APPLE_DMA_VERSION);
		ret = -ENODEV;
		goto err_unmap;
	}
	max_entries = readl(ad->regs + APPLE_DMA_REG_MAX_ENTRIES);
	if (!max_entries) {
		dev_err(&pdev->dev, "device reports MAX_ENTRIES 0\n");
		ret = -ENODEV;
		goto err_unmap;
	}
	ad->max_batch = clamp_t(u32, max_batch, 1,
				min_t(u32, max_entries, APPLE_DMA_MAX_BATCH));

	/* FEATURES reads 0 on devices that promise nothing (the reference). */
	features = readl(ad->regs + APPLE_DMA_REG_FEATURES);
	if (!strcmp(doorbell_status, "auto"))
		ad->sync_doorbell = features & APPLE_DMA_FEATURE_SYNC_DOORBELL;
	else
		ad->sync_doorbell = !strcmp(doorbell_status, "never");

	bdf = readl(ad->regs + APPLE_DMA_REG_MANAGED_BDF) & 0xffff;
	ad->managed = apple_dma_find_managed(pdev, bdf);
	if (!ad->managed) {
		ret = -ENODEV;
		goto err_unmap;
	}

	ret = apple_dma_alloc_buffers(ad);
	if (ret)
		goto err_put;
	writel(lower_32_bits(ad->cmd_gpa), ad->regs + APPLE_DMA_REG_CMD_GPA_LO);
	writel(upper_32_bits(ad->cmd_gpa), ad->regs + APPLE_DMA_REG_CMD_GPA_HI);

	if (ad->managed->dev.driver)
		dev_warn(&pdev->dev,
			 "%s is already bound to %s: its existing DMA mappings are not translated; load apple_dma before that driver\n",
			 pci_name(ad->managed), ad->managed->dev.driver->name);

	pci_set_drvdata(pdev, ad);
	apple_dma_debugfs_init(ad);

	ad->nb.notifier_call = apple_dma_bus_notify;
	ret = bus_register_notifier(&pci_bus_type, &ad->nb);
	if (ret)
		goto err_debugfs;
	apple_dma_install_ops(ad);
	mutex_lock(&apple_dma_instances_lock);
	list_add_tail(&ad->node, &apple_dma_instances);
	mutex_unlock(&apple_dma_instances_lock);

	dev_info(&pdev->dev,
		 "managing DMA for %s: %u entries per doorbell (device max %u), window %s%u, %s doorbells (features %#x), %s\n",
		 pci_name(ad->managed), ad->max_batch, max_entries,
		 ad->window_shift ? "2^" : "", ad->window_shift,
		 ad->sync_doorbell ? "synchronous" : "posted", features,
		 READ_ONCE(apple_dma_strict) ? "strict" : "mapping cache");
	return 0;

err_debugfs:
	debugfs_remove_recursive(ad->debugfs);
	writel(0, ad->regs + APPLE_DMA_REG_CMD_GPA_LO);
	writel(0, ad->regs + APPLE_DMA_REG_CMD_GPA_HI);
err_put:
	apple_dma_free_buffers(ad);
	pci_dev_put(ad->managed);
err_unmap:
	pci_iounmap(pdev, ad->regs);
err_release:
	pci_release_regions(pdev);
err_disable:
	pci_disable_device(pdev);
err_free:
	kfree(ad);
	return ret;
}

static void apple_dma_remove(struct pci_dev *pdev)
{
	struct apple_dma *ad = pci_get_drvdata(pdev);

	mutex_lock(&apple_dma_instances_lock);
	list_del(&ad->node);
	mutex_unlock(&apple_dma_instances_lock);
	apple_dma_restore_ops(ad);
	bus_unregister_notifier(&pci_bus_type, &ad->nb);

	apple_dma_cache_stop(ad);
	apple_dma_unmap_all(ad);

	debugfs_remove_recursive(ad->debugfs);
	/* the host must not write into memory we are about to free */
	writel(0, ad->regs + APPLE_DMA_REG_CMD_GPA_LO);
	writel(0, ad->regs + APPLE_DMA_REG_CMD_GPA_HI);
	readl(ad->regs + APPLE_DMA_REG_STATUS);
	apple_dma_free_buffers(ad);
	pci_dev_put(ad->managed);
	pci_iounmap(pdev, ad->regs);
	pci_release_regions(pdev);
	pci_disable_device(pdev);
	kfree(ad);
}

/*
 * A reset of apple-dma-pci drops every host registration and CMD_GPA:
 * release the cache first (idle records would otherwise hand out bus
 * addresses the DART no longer maps), and again afterwards for any that
 * became idle meanwhile; then point the device at the command page again.
 * Mappings still in use across a reset are lost (as on a VM reboot).
 */
static void apple_dma_reset_prepare(struct pci_dev *pdev)
{
	apple_dma_cache_flush(pci_get_drvdata(pdev));
}

static void apple_dma_reset_done(struct pci_dev *pdev)
{
	struct apple_dma *ad = pci_get_drvdata(pdev);

	apple_dma_cache_flush(ad);
	writel(lower_32_bits(ad->cmd_gpa), ad->regs + APPLE_DMA_REG_CMD_GPA_LO);
	writel(upper_32_bits(ad->cmd_gpa), ad->regs + APPLE_DMA_REG_CMD_GPA_HI);
}

static const struct pci_error_handlers apple_dma_err_handlers = {
	.reset_prepare	= apple_dma_reset_prepare,
	.reset_done	= apple_dma_reset_done,
};

static const struct pci_device_id apple_dma_ids[] = {
	{ PCI_DEVICE(APPLE_DMA_PCI_VENDOR_ID, APPLE_DMA_PCI_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, apple_dma_ids);

static struct pci_driver apple_dma_driver = {
	.name		= KBUILD_MODNAME,
	.id_table	= apple_dma_ids,
	.probe		= apple_dma_probe,
	.remove		= apple_dma_remove,
	.err_handler	= &apple_dma_err_handlers,
};

static int __init apple_dma_init(void)
{
	int ret;

	ret = apple_dma_map_module_init();
	if (ret)
		return ret;
	apple_dma_debugfs_root = debugfs_create_dir("apple_dma", NULL);
	ret = pci_register_driver(&apple_dma_driver);
	if (ret) {
		debugfs_remove_recursive(apple_dma_debugfs_root);
		apple_dma_map_module_exit();
	}
	return ret;
}

static void __exit apple_dma_exit(void)
{
	pci_unregister_driver(&apple_dma_driver);
	debugfs_remove_recursive(apple_dma_debugfs_root);
	apple_dma_map_module_exit();
}

module_init(apple_dma_init);
module_exit(apple_dma_exit);

MODULE_DESCRIPTION("DMA mapping through the apple-dma-pci companion device");
MODULE_AUTHOR("vfio-apple");
MODULE_LICENSE("GPL");
