/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The parts of NVM Express 1.4 (base specification, revision 1.4c) that the
 * simulated controller in dev-nvme.c implements: controller registers,
 * submission and completion queue entries, Identify data structures,
 * opcodes and status codes. Written from the specification; section and
 * figure numbers refer to it. All fields are little-endian.
 *
 * Shared by the device model and the conformance test that plays the host.
 */
#ifndef DEXTD_NVME_SPEC_H
#define DEXTD_NVME_SPEC_H

#include <stddef.h>
#include <stdint.h>

/* The structs below are the wire layout; only little-endian hosts run dextd. */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "nvme-spec.h assumes a little-endian host"
#endif

/* PCI identity: QEMU's unassigned test vendor, and the NVMe class code. */
#define NVME_PCI_VENDOR_ID	0x1234
#define NVME_PCI_DEVICE_ID	0x11f1
#define NVME_PCI_CLASS		0x010802	/* mass storage, NVM, NVMe I/O controller */

/* Controller registers (NVMe 1.4, 3.1, figure 78). */
#define NVME_REG_CAP		0x00	/* 8 bytes */
#define NVME_REG_VS		0x08
#define NVME_REG_INTMS		0x0c
#define NVME_REG_INTMC		0x10
#define NVME_REG_CC		0x14
#define NVME_REG_CSTS		0x1c
#define NVME_REG_NSSR		0x20
#define NVME_REG_AQA		0x24
#define NVME_REG_ASQ		0x28	/* 8 bytes */
#define NVME_REG_ACQ		0x30	/* 8 bytes */
#define NVME_REG_CMBLOC		0x38
#define NVME_REG_CMBSZ		0x3c
/* Doorbells: SQ y tail at DBS + 2y * (4 << DSTRD), CQ y head at DBS + (2y + 1) * (..) */
#define NVME_REG_DBS		0x1000

/* CAP (3.1.1). */
#define NVME_CAP_MQES(c)	((c) & 0xffff)		/* 0's based */
#define NVME_CAP_CQR		(1ull << 16)
#define NVME_CAP_TO_SHIFT	24			/* 500 ms units */
#define NVME_CAP_DSTRD_SHIFT	32
#define NVME_CAP_NSSRS		(1ull << 36)
#define NVME_CAP_CSS_NVM	(1ull << 37)
#define NVME_CAP_MPSMIN_SHIFT	48
#define NVME_CAP_MPSMAX_SHIFT	52

#define NVME_VS_1_4		0x00010400u

/* CC (3.1.5). */
#define NVME_CC_EN		(1u << 0)
#define NVME_CC_CSS(c)		(((c) >> 4) & 0x7)
#define NVME_CC_MPS(c)		(((c) >> 7) & 0xf)
#define NVME_CC_AMS(c)		(((c) >> 11) & 0x7)
#define NVME_CC_SHN(c)		(((c) >> 14) & 0x3)
#define NVME_CC_IOSQES(c)	(((c) >> 16) & 0xf)
#define NVME_CC_IOCQES(c)	(((c) >> 20) & 0xf)
#define NVME_CC_SHN_NORMAL	(1u << 14)
#define NVME_CC_IOSQES_64	(6u << 16)
#define NVME_CC_IOCQES_16	(4u << 20)

/* CSTS (3.1.6). */
#define NVME_CSTS_RDY		(1u << 0)
#define NVME_CSTS_CFS		(1u << 1)
#define NVME_CSTS_SHST_MASK	(3u << 2)
#define NVME_CSTS_SHST_OCCURRING (1u << 2)
#define NVME_CSTS_SHST_COMPLETE	(2u << 2)

/* AQA (3.1.8): 0's based sizes. */
#define NVME_AQA_ASQS(a)	((a) & 0xfff)
#define NVME_AQA_ACQS(a)	(((a) >> 16) & 0xfff)

/* Submission queue entry (4.2, figure 104/105). */
struct nvme_sqe {
	uint8_t opcode;
	uint8_t flags;		/* FUSE 1:0, PSDT 7:6 */
	uint16_t cid;
	uint32_t nsid;
	uint32_t cdw2;
	uint32_t cdw3;
	uint64_t mptr;
	uint64_t prp1;
	uint64_t prp2;
	uint32_t cdw10;
	uint32_t cdw11;
	uint32_t cdw12;
	uint32_t cdw13;
	uint32_t cdw14;
	uint32_t cdw15;
};
_Static_assert(sizeof(struct nvme_sqe) == 64, "SQE is 64 bytes");
_Static_assert(offsetof(struct nvme_sqe, nsid) == 4, "SQE nsid");
_Static_assert(offsetof(struct nvme_sqe, prp1) == 24, "SQE PRP1");
_Static_assert(offsetof(struct nvme_sqe, prp2) == 32, "SQE PRP2");
_Static_assert(offsetof(struct nvme_sqe, cdw10) == 40, "SQE CDW10");
_Static_assert(offsetof(struct nvme_sqe, cdw15) == 60, "SQE CDW15");

#define NVME_SQE_FUSE_MASK	0x03
#define NVME_SQE_PSDT_MASK	0xc0	/* 00b: PRPs (the only mode: SGLS = 0) */

/* Completion queue entry (4.6, figure 124). */
struct nvme_cqe {
	uint32_t dw0;
	uint32_t dw1;
	uint16_t sq_head;
	uint16_t sq_id;
	uint16_t cid;
	uint16_t status;	/* phase tag bit 0, status field 15:1 */
};
_Static_assert(sizeof(struct nvme_cqe) == 16, "CQE is 16 bytes");
_Static_assert(offsetof(struct nvme_cqe, sq_head) == 8, "CQE SQ head");
_Static_assert(offsetof(struct nvme_cqe, status) == 14, "CQE status");

/*
 * Status field (4.6.1): the 15 bits above the phase tag. NVME_SC() packs
 * SCT and SC as they sit in it (bit 0 of these values is status bit 1).
 */
#define NVME_SC(sct, sc)	((uint16_t)(((sct) << 8) | (sc)))
#define NVME_STATUS_DNR		0x4000	/* do not retry */
#define NVME_STATUS_CODE(s)	((s) & 0x7ff)	/* SCT and SC without DNR/M/CRD */

/* Generic command status, SCT 0 (4.6.1.2.1, figure 127). */
#define NVME_SC_SUCCESS			NVME_SC(0, 0x00)
#define NVME_SC_INVALID_OPCODE		NVME_SC(0, 0x01)
#define NVME_SC_INVALID_FIELD		NVME_SC(0, 0x02)
#define NVME_SC_DATA_XFER_ERROR		NVME_SC(0, 0x04)
#define NVME_SC_INTERNAL		NVME_SC(0, 0x06)
#define NVME_SC_INVALID_NS		NVME_SC(0, 0x0b)
#define NVME_SC_CMD_SEQ_ERROR		NVME_SC(0, 0x0c)
#define NVME_SC_INVALID_PRP_OFFSET	NVME_SC(0, 0x13)
#define NVME_SC_LBA_RANGE		NVME_SC(0, 0x80)
/* Command specific status, SCT 1 (figure 128). */
#define NVME_SC_CQ_INVALID		NVME_SC(1, 0x00)
#define NVME_SC_INVALID_QID		NVME_SC(1, 0x01)
#define NVME_SC_INVALID_QSIZE		NVME_SC(1, 0x02)
#define NVME_SC_ABORT_LIMIT		NVME_SC(1, 0x03)
#define NVME_SC_AER_LIMIT		NVME_SC(1, 0x05)
#define NVME_SC_INVALID_VECTOR		NVME_SC(1, 0x08)
#define NVME_SC_INVALID_LOG_PAGE	NVME_SC(1, 0x09)
#define NVME_SC_INVALID_QUEUE_DELETION	NVME_SC(1, 0x0c)
#define NVME_SC_FEATURE_NOT_SAVEABLE	NVME_SC(1, 0x0d)
/* Media and data integrity errors, SCT 2 (figure 130). */
#define NVME_SC_WRITE_FAULT		NVME_SC(2, 0x80)
#define NVME_SC_READ_ERROR		NVME_SC(2, 0x81)

/* Admin opcodes (5, figure 139). */
#define NVME_ADM_DELETE_SQ	0x00
#define NVME_ADM_CREATE_SQ	0x01
#define NVME_ADM_GET_LOG_PAGE	0x02
#define NVME_ADM_DELETE_CQ	0x04
#define NVME_ADM_CREATE_CQ	0x05
#define NVME_ADM_IDENTIFY	0x06
#define NVME_ADM_ABORT		0x08
#define NVME_ADM_SET_FEATURES	0x09
#define NVME_ADM_GET_FEATURES	0x0a
#define NVME_ADM_ASYNC_EVENT	0x0c
#define NVME_ADM_KEEP_ALIVE	0x18
#define NVME_ADM_DBBUF_CONFIG	0x7c

#define NVME_OACS_DBBUF		(1u << 8)	/* Doorbell Buffer Config supported */

/* NVM command set opcodes (6, figure 346). */
#define NVME_CMD_FLUSH		0x00
#define NVME_CMD_WRITE		0x01
#define NVME_CMD_READ		0x02
#define NVME_CMD_WRITE_ZEROES	0x08
#define NVME_CMD_DSM		0x09

/* Create I/O queue flags in CDW11 (5.3, 5.4). */
#define NVME_QUEUE_PC		(1u << 0)	/* physically contiguous */
#define NVME_CQ_IEN		(1u << 1)	/* interrupts enabled */

/* Identify CNS values (5.15.1, figure 244). */
#define NVME_CNS_NS		0x00
#define NVME_CNS_CTRL		0x01
#define NVME_CNS_ACTIVE_NS_LIST	0x02
#define NVME_CNS_NS_DESC_LIST	0x03
#define NVME_CNS_CS_NS		0x05	/* NVMe 2.0 (TP 4056); zeroed for the NVM set */
#define NVME_CNS_CS_CTRL	0x06	/* idem */

/* Namespace identification descriptor types (5.15.2.3, figure 248). */
#define NVME_NIDT_EUI64		0x01
#define NVME_NIDT_NGUID		0x02
#define NVME_NIDT_CSI		0x04

/* Feature identifiers (5.21.1, figure 271). */
#define NVME_FEAT_ARBITRATION	0x01
#define NVME_FEAT_POWER_MGMT	0x02
#define NVME_FEAT_TEMP_THRESH	0x04
#define NVME_FEAT_VWC		0x06
#define NVME_FEAT_NUM_QUEUES	0x07
#define NVME_FEAT_IRQ_COALESCE	0x08
#define NVME_FEAT_ASYNC_EVENT	0x0b

/* Log page identifiers (5.14.1, figure 191). */
#define NVME_LOG_ERROR		0x01
#define NVME_LOG_SMART		0x02
#define NVME_LOG_FW_SLOT	0x03

/* Power state descriptor (5.15.2.2, figure 249). */
struct nvme_psd {
	uint16_t mp;		/* max power, centiwatts */
	uint8_t rsvd2;
	uint8_t flags;		/* MXPS, NOPS */
	uint32_t enlat;
	uint32_t exlat;
	uint8_t rrt, rrl, rwt, rwl;
	uint16_t idlp;
	uint8_t ips;
	uint8_t rsvd19;
	uint16_t actp;
	uint8_t apws;
	uint8_t rsvd23[9];
};
_Static_assert(sizeof(struct nvme_psd) == 32, "power state descriptor");

/* Identify Controller data structure (5.15.2.2, figure 247). */
struct nvme_id_ctrl {
	uint16_t vid;
	uint16_t ssvid;
	char sn[20];
	char mn[40];
	char fr[8];
	uint8_t rab;
	uint8_t ieee[3];
	uint8_t cmic;
	uint8_t mdts;		/* 2^n units of CAP.MPSMIN */
	uint16_t cntlid;
	uint32_t ver;
	uint32_t rtd3r;
	uint32_t rtd3e;
	uint32_t oaes;
	uint32_t ctratt;
	uint16_t rrls;
	uint8_t rsvd102[9];
	uint8_t cntrltype;
	uint8_t fguid[16];
	uint16_t crdt[3];
	uint8_t rsvd134[106];
	uint8_t nvmemi[16];
	uint16_t oacs;
	uint8_t acl;
	uint8_t aerl;
	uint8_t frmw;
	uint8_t lpa;
	uint8_t elpe;
	uint8_t npss;
	uint8_t avscc;
	uint8_t apsta;
	uint16_t wctemp;
	uint16_t cctemp;
	uint16_t mtfa;
	uint32_t hmpre;
	uint32_t hmmin;
	uint8_t tnvmcap[16];
	uint8_t unvmcap[16];
	uint32_t rpmbs;
	uint16_t edstt;
	uint8_t dsto;
	uint8_t fwug;
	uint16_t kas;
	uint16_t hctma;
	uint16_t mntmt;
	uint16_t mxtmt;
	uint32_t sanicap;
	uint32_t hmminds;
	uint16_t hmmaxd;
	uint16_t nsetidmax;
	uint16_t endgidmax;
	uint8_t anatt;
	uint8_t anacap;
	uint32_t anagrpmax;
	uint32_t nanagrpid;
	uint32_t pels;
	uint8_t rsvd356[156];
	uint8_t sqes;
	uint8_t cqes;
	uint16_t maxcmd;
	uint32_t nn;
	uint16_t oncs;
	uint16_t fuses;
	uint8_t fna;
	uint8_t vwc;
	uint16_t awun;
	uint16_t awupf;
	uint8_t nvscc;
	uint8_t nwpc;
	uint16_t acwu;
	uint16_t rsvd534;
	uint32_t sgls;
	uint32_t mnan;
	uint8_t rsvd544[224];
	char subnqn[256];
	uint8_t rsvd1024[768];
	uint8_t nvmof[256];
	struct nvme_psd psd[32];
	uint8_t vs[1024];
};
_Static_assert(sizeof(struct nvme_id_ctrl) == 4096, "Identify Controller is 4096 bytes");
_Static_assert(offsetof(struct nvme_id_ctrl, sn) == 4, "id ctrl SN");
_Static_assert(offsetof(struct nvme_id_ctrl, mn) == 24, "id ctrl MN");
_Static_assert(offsetof(struct nvme_id_ctrl, fr) == 64, "id ctrl FR");
_Static_assert(offsetof(struct nvme_id_ctrl, mdts) == 77, "id ctrl MDTS");
_Static_assert(offsetof(struct nvme_id_ctrl, cntlid) == 78, "id ctrl CNTLID");
_Static_assert(offsetof(struct nvme_id_ctrl, ver) == 80, "id ctrl VER");
_Static_assert(offsetof(struct nvme_id_ctrl, cntrltype) == 111, "id ctrl CNTRLTYPE");
_Static_assert(offsetof(struct nvme_id_ctrl, oacs) == 256, "id ctrl OACS");
_Static_assert(offsetof(struct nvme_id_ctrl, npss) == 263, "id ctrl NPSS");
_Static_assert(offsetof(struct nvme_id_ctrl, wctemp) == 266, "id ctrl WCTEMP");
_Static_assert(offsetof(struct nvme_id_ctrl, kas) == 320, "id ctrl KAS");
_Static_assert(offsetof(struct nvme_id_ctrl, pels) == 352, "id ctrl PELS");
_Static_assert(offsetof(struct nvme_id_ctrl, sqes) == 512, "id ctrl SQES");
_Static_assert(offsetof(struct nvme_id_ctrl, nn) == 516, "id ctrl NN");
_Static_assert(offsetof(struct nvme_id_ctrl, oncs) == 520, "id ctrl ONCS");
_Static_assert(offsetof(struct nvme_id_ctrl, vwc) == 525, "id ctrl VWC");
_Static_assert(offsetof(struct nvme_id_ctrl, sgls) == 536, "id ctrl SGLS");
_Static_assert(offsetof(struct nvme_id_ctrl, subnqn) == 768, "id ctrl SUBNQN");
_Static_assert(offsetof(struct nvme_id_ctrl, psd) == 2048, "id ctrl PSD0");

/* LBA format (figure 251). */
struct nvme_lbaf {
	uint16_t ms;		/* metadata bytes per LBA */
	uint8_t lbads;		/* LBA data size, 2^n bytes */
	uint8_t rp;		/* relative performance */
};
_Static_assert(sizeof(struct nvme_lbaf) == 4, "LBA format");

/* Identify Namespace data structure, NVM command set (6.1.5, figure 250). */
struct nvme_id_ns {
	uint64_t nsze;
	uint64_t ncap;
	uint64_t nuse;
	uint8_t nsfeat;
	uint8_t nlbaf;		/* 0's based */
	uint8_t flbas;
	uint8_t mc;
	uint8_t dpc;
	uint8_t dps;
	uint8_t nmic;
	uint8_t rescap;
	uint8_t fpi;
	uint8_t dlfeat;
	uint16_t nawun;
	uint16_t nawupf;
	uint16_t nacwu;
	uint16_t nabsn;
	uint16_t nabo;
	uint16_t nabspf;
	uint16_t noiob;
	uint8_t nvmcap[16];
	uint16_t npwg;
	uint16_t npwa;
	uint16_t npdg;
	uint16_t npda;
	uint16_t nows;
	uint8_t rsvd74[18];
	uint32_t anagrpid;
	uint8_t rsvd96[3];
	uint8_t nsattr;
	uint16_t nvmsetid;
	uint16_t endgid;
	uint8_t nguid[16];
	uint8_t eui64[8];
	struct nvme_lbaf lbaf[16];
	uint8_t rsvd192[192];
	uint8_t vs[3712];
};
_Static_assert(sizeof(struct nvme_id_ns) == 4096, "Identify Namespace is 4096 bytes");
_Static_assert(offsetof(struct nvme_id_ns, nsfeat) == 24, "id ns NSFEAT");
_Static_assert(offsetof(struct nvme_id_ns, flbas) == 26, "id ns FLBAS");
_Static_assert(offsetof(struct nvme_id_ns, nvmcap) == 48, "id ns NVMCAP");
_Static_assert(offsetof(struct nvme_id_ns, anagrpid) == 92, "id ns ANAGRPID");
_Static_assert(offsetof(struct nvme_id_ns, nsattr) == 99, "id ns NSATTR");
_Static_assert(offsetof(struct nvme_id_ns, nguid) == 104, "id ns NGUID");
_Static_assert(offsetof(struct nvme_id_ns, eui64) == 120, "id ns EUI64");
_Static_assert(offsetof(struct nvme_id_ns, lbaf) == 128, "id ns LBAF0");

/* Dataset Management range (6.7, figure 364). */
struct nvme_dsm_range {
	uint32_t cattr;
	uint32_t nlb;
	uint64_t slba;
};
_Static_assert(sizeof(struct nvme_dsm_range) == 16, "DSM range");

#define NVME_IDENTIFY_SIZE	4096
#define NVME_LOG_ERROR_ENTRY	64
#define NVME_LOG_SMART_SIZE	512
#define NVME_LOG_FW_SLOT_SIZE	512

#endif /* DEXTD_NVME_SPEC_H */
