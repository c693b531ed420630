/* vmstate-crc32c-private.h: CRC-32C (Castagnoli), the envelope's checksum
 *
 * Private to libvmstate; also compiled into the benchmark and the tests.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Continues @crc (0 to start) over @len bytes of @data: the CRC-32C of
 * iSCSI, ext4 and SCTP (reflected polynomial 0x82F63B78, initial and final
 * XOR 0xFFFFFFFF), so crc32c (0, "123456789", 9) == 0xE3069283. Uses the
 * SSE 4.2 crc32 instruction when the CPU has it, slicing by 8 otherwise. */
guint32 _vmstate_crc32c (guint32       crc,
                         const void   *data,
                         gsize         len);

/* The portable slicing-by-8 implementation alone (for the tests and the
 * benchmark). */
guint32 _vmstate_crc32c_sw (guint32     crc,
                            const void *data,
                            gsize       len);

/* Whether _vmstate_crc32c() uses the CPU's instruction. */
gboolean _vmstate_crc32c_is_hw (void);

G_END_DECLS
