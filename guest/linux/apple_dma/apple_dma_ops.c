// SPDX-License-Identifier: GPL-2.0-only
/*
 * apple_dma: the dma_map_ops installed on the managed device.
 *
 * Every op finds its instance in O(1) from the device's ops pointer
 * (apple_dma_get) and holds a use count while it runs, so remove() can
 * restore the original ops and then wait for ops already running.
 *
 * Two cases, decided by the ops the device had before us (ad->orig):
 *  - NULL (dma-direct, the usual case): we allocate memory ourselves and
 *    treat the device as cache-coherent (QEMU's PCI devices are), so the
 *    sync ops have nothing to do. dma_direct_* is not exported anyway.
 *  - non-NULL: the original ops allocate, bounce and sync; the address they
 *    return is the guest-physical address we register with the host.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/scatterlist.h>

#include "apple_dma.h"

static int apple_dma_map_sg(struct device *dev, struct scatterlist *sgl,
			    int nents, enum dma_data_direction dir,
			    unsigned long attrs);

/*
 * Drop a use. Only remove() waits on drain_wq, so an op wakes it only when
 * someone sleeps there: an empty wake_up() would still take the wait
 * queue's lock with interrupts off, once per op. atomic_dec_and_test() and
 * wq_has_sleeper() are full barriers, pairing with prepare_to_wait() in
 * remove()'s wait_event().
 */
static void apple_dma_unuse(struct apple_dma *ad)
{
	if (atomic_dec_and_test(&ad->users) && wq_has_sleeper(&ad->drain_wq))
		wake_up(&ad->drain_wq);
}

/*
 * The instance behind @dev's ops, with a use reference, or NULL if our ops
 * are no longer installed (remove() restored the original ones). The
 * per-instance table is recognised by its map_sg member.
 */
static struct apple_dma *apple_dma_get(struct device *dev)
{
	const struct dma_map_ops *ops;
	struct apple_dma *ad = NULL;

	rcu_read_lock();
	ops = get_dma_ops(dev);
	if (ops && ops->map_sg == apple_dma_map_sg) {
		ad = container_of(ops, struct apple_dma, ops);
		atomic_inc(&ad->users);
		if (READ_ONCE(ad->dying)) {
			apple_dma_unuse(ad);
			ad = NULL;
		}
	}
	rcu_read_unlock();
	return ad;
}

/* remove() waits for users == 0 and then for an RCU grace period. */
static void apple_dma_put(struct apple_dma *ad)
{
	rcu_read_lock();
	apple_dma_unuse(ad);
	rcu_read_unlock();
}

static u64 apple_dma_coherent_mask(struct device *dev)
{
	return dev->coherent_dma_mask ? dev->coherent_dma_mask :
					DMA_BIT_MASK(32);
}

/* ---- streaming maps ---------------------------------------------------- */

static dma_addr_t apple_dma_map_phys_common(struct device *dev,
					    phys_addr_t phys, size_t size,
					    enum dma_data_direction dir,
					    unsigned long attrs)
{
	struct apple_dma *ad = apple_dma_get(dev);
	const struct dma_map_ops *orig;
	dma_addr_t odma = DMA_MAPPING_ERROR, dma = DMA_MAPPING_ERROR;
	u64 gpa = phys;

	if (!ad)
		return DMA_MAPPING_ERROR;
	if (attrs & APPLE_DMA_ATTR_MMIO) {
		dev_warn_ratelimited(dev, "apple_dma: MMIO ranges cannot be mapped\n");
		goto out;
	}
	orig = READ_ONCE(ad->orig);
	if (orig) {
		odma = apple_dma_orig_map(orig, dev, phys, size, dir, attrs);
		if (odma == DMA_MAPPING_ERROR)
			goto out;
		gpa = odma;
	}
	dma = apple_dma_map_range(ad, gpa, size, dma_get_mask(dev));
	if (dma == DMA_MAPPING_ERROR && orig)
		apple_dma_orig_unmap(orig, dev, odma, size, dir,
				     attrs | DMA_ATTR_SKIP_CPU_SYNC);
out:
	apple_dma_put(ad);
	return dma;
}

static void apple_dma_unmap_common(struct device *dev, dma_addr_t addr,
				   size_t size, enum dma_data_direction dir,
				   unsigned long attrs)
{
	struct apple_dma *ad = apple_dma_get(dev);
	const struct dma_map_ops *orig;
	u64 gpa;

	if (!ad)
		return;
	orig = READ_ONCE(ad->orig);
	if (!apple_dma_unmap_range(ad, addr, size, &gpa) && orig)
		apple_dma_orig_unmap(orig, dev, gpa, size, dir, attrs);
	apple_dma_put(ad);
}

#ifdef APPLE_DMA_HAVE_MAP_PHYS
static dma_addr_t apple_dma_map_phys(struct device *dev, phys_addr_t phys,
				     size_t size, enum dma_data_direction dir,
				     unsigned long attrs)
{
	return apple_dma_map_phys_common(dev, phys, size, dir, attrs);
}

static void apple_dma_unmap_phys(struct device *dev, dma_addr_t addr,
				 size_t size, enum dma_data_direction dir,
				 unsigned long attrs)
{
	apple_dma_unmap_common(dev, addr, size, dir, attrs);
}
#else
static dma_addr_t apple_dma_map_page(struct device *dev, struct page *page,
				     unsigned long offset, size_t size,
				     enum dma_data_direction dir,
				     unsigned long attrs)
{
	return apple_dma_map_phys_common(dev, page_to_phys(page) + offset,
					 size, dir, attrs);
}

static void apple_dma_unmap_page(struct device *dev, dma_addr_t addr,
				 size_t size, enum dma_data_direction dir,
				 unsigned long attrs)
{
	apple_dma_unmap_common(dev, addr, size, dir, attrs);
}
#endif

static int apple_dma_map_sg(struct device *dev, struct scatterlist *sgl,
			    int nents, enum dma_data_direction dir,
			    unsigned long attrs)
{
	struct apple_dma *ad = apple_dma_get(dev);
	const struct dma_map_ops *orig;
	int count, ret;

	if (!ad)
		return -EIO;
	orig = READ_ONCE(ad->orig);
	if (!orig) {
		ret = apple_dma_map_sg_ranges(ad, sgl, nents, dma_get_mask(dev),
					      false);
		goto out;
	}

	if (!orig->map_sg) {
		ret = -EIO;
		goto out;
	}
	count = orig->map_sg(dev, sgl, nents, dir, attrs);
	if (count <= 0) {
		ret = count ? count : -EIO;
		goto out;
	}
	ret = apple_dma_map_sg_ranges(ad, sgl, count, dma_get_mask(dev), true);
	if (ret < 0 && orig->unmap_sg)
		orig->unmap_sg(dev, sgl, nents, dir,
			       attrs | DMA_ATTR_SKIP_CPU_SYNC);
out:
	apple_dma_put(ad);
	return ret;
}

static void apple_dma_unmap_sg(struct device *dev, struct scatterlist *sgl,
			       int nents, enum dma_data_direction dir,
			       unsigned long attrs)
{
	struct apple_dma *ad = apple_dma_get(dev);
	const struct dma_map_ops *orig;
	struct scatterlist *s;
	int count = 0, i;

	if (!ad)
		return;
	orig = READ_ONCE(ad->orig);
	if (!orig) {
		apple_dma_unmap_sg_ranges(ad, sgl, nents, false);
		goto out;
	}

	/* the original ops may have merged: their entries end at length 0 */
	for_each_sg(sgl, s, nents, i) {
		if (i && !sg_dma_len(s))
			break;
		count++;
	}
	apple_dma_unmap_sg_ranges(ad, sgl, count, true);
	if (orig->unmap_sg)
		orig->unmap_sg(dev, sgl, nents, dir, attrs);
out:
	apple_dma_put(ad);
}

/* ---- coherent allocations ---------------------------------------------- */

/*
 * Backing pages for dma-direct devices. The bus address comes from the
 * host whatever the physical address, so zone limits do not apply.
 */
static struct page *apple_dma_alloc_backing(struct device *dev, size_t size,
					    gfp_t gfp)
{
	gfp &= ~(__GFP_DMA | __GFP_DMA32 | __GFP_HIGHMEM | __GFP_COMP);
	return alloc_pages_node(dev_to_node(dev), gfp | __GFP_ZERO,
				get_order(size));
}

static void apple_dma_free_backing(struct page *page, size_t size)
{
	__free_pages(page, get_order(size));
}

/* Our own backing pages for size bytes, mapped through the companion. */
static struct page *apple_dma_alloc_mapped(struct apple_dma *ad,
					   struct device *dev, size_t size,
					   gfp_t gfp, u64 mask,
					   dma_addr_t *dma_handle)
{
	struct page *page = apple_dma_alloc_backing(dev, size, gfp);
	dma_addr_t dma;

	if (!page)
		return NULL;
	dma = apple_dma_map_range(ad, page_to_phys(page), PAGE_ALIGN(size),
				  mask);
	if (dma == DMA_MAPPING_ERROR) {
		apple_dma_free_backing(page, size);
		return NULL;
	}
	*dma_handle = dma;
	return page;
}

static void *apple_dma_alloc(struct device *dev, size_t size,
			     dma_addr_t *dma_handle, gfp_t gfp,
			     unsigned long attrs)
{
	struct apple_dma *ad = apple_dma_get(dev);
	const struct dma_map_ops *orig;
	void *cpu_addr = NULL;
	struct page *page;
	dma_addr_t odma, dma;

	if (!ad)
		return NULL;
	orig = READ_ONCE(ad->orig);
	if (orig) {
		if (!orig->alloc)
			goto out;
		cpu_addr = orig->alloc(dev, size, &odma, gfp, attrs);
		if (!cpu_addr)
			goto out;
		dma = apple_dma_map_range(ad, odma, size,
					  apple_dma_coherent_mask(dev));
		if (dma == DMA_MAPPING_ERROR) {
			if (orig->free)
				orig->free(dev, size, cpu_addr, odma, attrs);
			cpu_addr = NULL;
			goto out;
		}
		*dma_handle = dma;
		goto out;
	}

	page = apple_dma_alloc_mapped(ad, dev, size, gfp,
				      apple_dma_coherent_mask(dev), dma_handle);
	if (page)
		cpu_addr = page_address(page);
out:
	apple_dma_put(ad);
	return cpu_addr;
}

static void apple_dma_free(struct device *dev, size_t size, void *cpu_addr,
			   dma_addr_t dma_handle, unsigned long attrs)
{
	struct apple_dma *ad = apple_dma_get(dev);
	const struct dma_map_ops *orig;
	u64 gpa;
	int ret;

	if (!ad)
		return;
	orig = READ_ONCE(ad->orig);
	ret = apple_dma_unmap_range(ad, dma_handle,
				    orig ? size : PAGE_ALIGN(size), &gpa);
	if (orig) {
		/* without the original handle the buffer cannot be returned */
		if (!ret && orig->free)
			orig->free(dev, size, cpu_addr, gpa, attrs);
	} else {
		apple_dma_free_backing(virt_to_page(cpu_addr), size);
	}
	apple_dma_put(ad);
}

static struct page *apple_dma_alloc_pages(struct device *dev, size_t size,
					  dma_addr_t *dma_handle,
					  enum dma_data_direction dir,
					  gfp_t gfp)
{
	struct apple_dma *ad = apple_dma_get(dev);
	const struct dma_map_ops *orig;
	struct page *page = NULL;
	dma_addr_t odma, dma;

	if (!ad)
		return NULL;
	orig = READ_ONCE(ad->orig);
	if (orig) {
		page = apple_dma_orig_alloc_pages(orig, dev, size, &odma, dir,
						  gfp);
		if (!page)
			goto out;
		dma = apple_dma_map_range(ad, odma, size, dma_get_mask(dev));
		if (dma == DMA_MAPPING_ERROR) {
			if (orig->free_pages)
				orig->free_pages(dev, size, page, odma, dir);
			page = NULL;
			goto out;
		}
		*dma_handle = dma;
		goto out;
	}

	page = apple_dma_alloc_mapped(ad, dev, size, gfp, dma_get_mask(dev),
				      dma_handle);
out:
	apple_dma_put(ad);
	return page;
}

static void apple_dma_free_pages(struct device *dev, size_t size,
				 struct page *page, dma_addr_t dma_handle,
				 enum dma_data_direction dir)
{
	struct apple_dma *ad = apple_dma_get(dev);
	const struct dma_map_ops *orig;
	u64 gpa;
	int ret;

	if (!ad)
		return;
	orig = READ_ONCE(ad->orig);
	ret = apple_dma_unmap_range(ad, dma_handle,
				    orig ? size : PAGE_ALIGN(size), &gpa);
	if (orig) {
		if (!ret && orig->free_pages)
			orig->free_pages(dev, size, page, gpa, dir);
	} else {
		apple_dma_free_backing(page, size);
	}
	apple_dma_put(ad);
}

static int apple_dma_mmap(struct device *dev, struct vm_area_struct *vma,
			  void *cpu_addr, dma_addr_t dma_addr, size_t size,
			  unsigned long attrs)
{
	struct apple_dma *ad = apple_dma_get(dev);
	unsigned long count = PAGE_ALIGN(size) >> PAGE_SHIFT;
	unsigned long off = vma->vm_pgoff, pages = vma_pages(vma);
	const struct dma_map_ops *orig;
	int ret = -ENXIO;
	u64 gpa;

	if (!ad)
		return -ENXIO;
	orig = READ_ONCE(ad->orig);
	if (orig) {
		if (orig->mmap && !apple_dma_translate(ad, dma_addr, &gpa))
			ret = orig->mmap(dev, vma, cpu_addr, gpa, size, attrs);
		goto out;
	}

	if (off >= count || pages > count - off)
		goto out;
	ret = remap_pfn_range(vma, vma->vm_start,
			      page_to_pfn(virt_to_page(cpu_addr)) + off,
			      pages << PAGE_SHIFT, vma->vm_page_prot);
out:
	apple_dma_put(ad);
	return ret;
}

static int apple_dma_get_sgtable(struct device *dev, struct sg_table *sgt,
				 void *cpu_addr, dma_addr_t dma_addr,
				 size_t size, unsigned long attrs)
{
	struct apple_dma *ad = apple_dma_get(dev);
	const struct dma_map_ops *orig;
	int ret = -ENXIO;
	u64 gpa;

	if (!ad)
		return -ENXIO;
	orig = READ_ONCE(ad->orig);
	if (orig) {
		if (orig->get_sgtable &&
		    !apple_dma_translate(ad, dma_addr, &gpa))
			ret = orig->get_sgtable(dev, sgt, cpu_addr, gpa, size,
						attrs);
		goto out;
	}

	ret = sg_alloc_table(sgt, 1, GFP_KERNEL);
	if (!ret)
		sg_set_page(sgt->sgl, virt_to_page(cpu_addr), PAGE_ALIGN(size),
			    0);
out:
	apple_dma_put(ad);
	return ret;
}

/* ---- sync: only the original ops have anything to do ------------------ */

static void apple_dma_sync_single(struct device *dev, dma_addr_t addr,
				  size_t size, enum dma_data_direction dir,
				  bool for_cpu)
{
	struct apple_dma *ad = apple_dma_get(dev);
	const struct dma_map_ops *orig;
	u64 gpa;

	if (!ad)
		return;
	orig = READ_ONCE(ad->orig);
	if (orig && !apple_dma_translate(ad, addr, &gpa)) {
		if (for_cpu && orig->sync_single_for_cpu)
			orig->sync_single_for_cpu(dev, gpa, size, dir);
		else if (!for_cpu && orig->sync_single_for_device)
			orig->sync_single_for_device(dev, gpa, size, dir);
	}
	apple_dma_put(ad);
}

static void apple_dma_sync_single_for_cpu(struct device *dev, dma_addr_t addr,
					  size_t size,
					  enum dma_data_direction dir)
{
	apple_dma_sync_single(dev, addr, size, dir, true);
}

static void apple_dma_sync_single_for_device(struct device *dev,
					     dma_addr_t addr, size_t size,
					     enum dma_data_direction dir)
{
	apple_dma_sync_single(dev, addr, size, dir, false);
}

static void apple_dma_sync_sg(struct device *dev, struct scatterlist *sgl,
			      int nents, enum dma_data_direction dir,
			      bool for_cpu)
{
	struct apple_dma *ad = apple_dma_get(dev);
	struct scatterlist *s;
	int i;

	if (!ad)
		return;
	if (READ_ONCE(ad->orig)) {
		for_each_sg(sgl, s, nents, i)
			apple_dma_sync_single(dev, sg_dma_address(s),
					      sg_dma_len(s), dir, for_cpu);
	}
	apple_dma_put(ad);
}

static void apple_dma_sync_sg_for_cpu(struct device *dev,
				      struct scatterlist *sgl, int nents,
				      enum dma_data_direction dir)
{
	apple_dma_sync_sg(dev, sgl, nents, dir, true);
}

static void apple_dma_sync_sg_for_device(struct device *dev,
					 struct scatterlist *sgl, int nents,
					 enum dma_data_direction dir)
{
	apple_dma_sync_sg(dev, sgl, nents, dir, false);
}

/* ---- limits -------------------------------------------------------------- */

/*
 * The host picks bus addresses (DART IOVAs); every mapping is checked
 * against the mask, but a mask below 32 bits cannot be promised.
 */
static int apple_dma_dma_supported(struct device *dev, u64 mask)
{
	struct apple_dma *ad = apple_dma_get(dev);
	const struct dma_map_ops *orig;
	int ret;

	if (!ad)
		return 0;
	orig = READ_ONCE(ad->orig);
	ret = mask >= DMA_BIT_MASK(32);
	if (ret && orig && orig->dma_supported)
		ret = orig->dma_supported(dev, mask);
	apple_dma_put(ad);
	return ret;
}

static size_t apple_dma_max_mapping_size(struct device *dev)
{
	struct apple_dma *ad = apple_dma_get(dev);
	const struct dma_map_ops *orig;
	size_t max = APPLE_DMA_MAX_MAP_LEN;

	if (!ad)
		return max;
	orig = READ_ONCE(ad->orig);
	if (orig && orig->max_mapping_size)
		max = min(max, orig->max_mapping_size(dev));
	apple_dma_put(ad);
	return max;
}

const struct dma_map_ops apple_dma_ops_template = {
	.alloc			= apple_dma_alloc,
	.free			= apple_dma_free,
	.APPLE_DMA_ALLOC_PAGES_OP = apple_dma_alloc_pages,
	.free_pages		= apple_dma_free_pages,
	.mmap			= apple_dma_mmap,
	.get_sgtable		= apple_dma_get_sgtable,
#ifdef APPLE_DMA_HAVE_MAP_PHYS
	.map_phys		= apple_dma_map_phys,
	.unmap_phys		= apple_dma_unmap_phys,
#else
	.map_page		= apple_dma_map_page,
	.unmap_page		= apple_dma_unmap_page,
#endif
	.map_sg			= apple_dma_map_sg,
	.unmap_sg		= apple_dma_unmap_sg,
	.sync_single_for_cpu	= apple_dma_sync_single_for_cpu,
	.sync_single_for_device	= apple_dma_sync_single_for_device,
	.sync_sg_for_cpu	= apple_dma_sync_sg_for_cpu,
	.sync_sg_for_device	= apple_dma_sync_sg_for_device,
	.dma_supported		= apple_dma_dma_supported,
	.max_mapping_size	= apple_dma_max_mapping_size,
};
