/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * apple_dma: every kernel-version difference in one place.
 *
 * Supported: 6.1 (Debian bookworm) and 6.12 (Debian trixie). The 6.18
 * map_phys/unmap_phys variant is kept compiling in principle.
 *
 *   6.1 .. 6.9   dma_map_ops.alloc_pages, .map_page/.unmap_page
 *   6.10 ..      .alloc_pages became .alloc_pages_op
 *   6.18 ..      .map_page/.unmap_page became .map_phys/.unmap_phys
 *
 * CONFIG_DMA_OPS was renamed CONFIG_ARCH_HAS_DMA_OPS; either gives every
 * device a dma_ops pointer that set_dma_ops() can replace.
 */
#ifndef APPLE_DMA_COMPAT_H
#define APPLE_DMA_COMPAT_H

#include <linux/dma-map-ops.h>
#include <linux/mm.h>
#include <linux/version.h>

#if !defined(CONFIG_DMA_OPS) && !defined(CONFIG_ARCH_HAS_DMA_OPS)
#error "apple_dma needs per-device DMA ops (CONFIG_DMA_OPS or CONFIG_ARCH_HAS_DMA_OPS)"
#endif

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 18, 0)
#define APPLE_DMA_HAVE_MAP_PHYS 1
#endif

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#define APPLE_DMA_ALLOC_PAGES_OP alloc_pages_op
#else
#define APPLE_DMA_ALLOC_PAGES_OP alloc_pages
#endif

/* Physical-address front ends for the original (saved) ops table. */
static inline dma_addr_t apple_dma_orig_map(const struct dma_map_ops *ops,
					    struct device *dev,
					    phys_addr_t phys, size_t size,
					    enum dma_data_direction dir,
					    unsigned long attrs)
{
#ifdef APPLE_DMA_HAVE_MAP_PHYS
	if (!ops->map_phys)
		return DMA_MAPPING_ERROR;
	return ops->map_phys(dev, phys, size, dir, attrs);
#else
	if (!ops->map_page)
		return DMA_MAPPING_ERROR;
	return ops->map_page(dev, pfn_to_page(PHYS_PFN(phys)),
			     offset_in_page(phys), size, dir, attrs);
#endif
}

static inline void apple_dma_orig_unmap(const struct dma_map_ops *ops,
					struct device *dev, dma_addr_t addr,
					size_t size,
					enum dma_data_direction dir,
					unsigned long attrs)
{
#ifdef APPLE_DMA_HAVE_MAP_PHYS
	if (ops->unmap_phys)
		ops->unmap_phys(dev, addr, size, dir, attrs);
#else
	if (ops->unmap_page)
		ops->unmap_page(dev, addr, size, dir, attrs);
#endif
}

static inline struct page *
apple_dma_orig_alloc_pages(const struct dma_map_ops *ops, struct device *dev,
			   size_t size, dma_addr_t *dma_handle,
			   enum dma_data_direction dir, gfp_t gfp)
{
	if (!ops->APPLE_DMA_ALLOC_PAGES_OP)
		return NULL;
	return ops->APPLE_DMA_ALLOC_PAGES_OP(dev, size, dma_handle, dir, gfp);
}

/* MMIO (peer-to-peer) ranges cannot be registered with the host. */
#ifdef DMA_ATTR_MMIO
#define APPLE_DMA_ATTR_MMIO DMA_ATTR_MMIO
#else
#define APPLE_DMA_ATTR_MMIO 0
#endif

#endif /* APPLE_DMA_COMPAT_H */
