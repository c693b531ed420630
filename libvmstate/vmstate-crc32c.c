/* vmstate-crc32c.c: CRC-32C (Castagnoli), the envelope's checksum
 *
 * Slicing-by-8 tables built once, plus the SSE 4.2 `crc32` instruction on
 * x86-64 when the CPU has it (chosen at run time). Both compute the same
 * function; the tests check them against each other and known vectors.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "vmstate-crc32c-private.h"

#define CRC32C_POLY 0x82F63B78u  /* reflected 0x1EDC6F41 */

static guint32 crc32c_table[8][256];

static gpointer
build_tables (gpointer data)
{
  for (guint i = 0; i < 256; i++)
    {
      guint32 c = i;

      for (int k = 0; k < 8; k++)
        c = (c >> 1) ^ ((c & 1) ? CRC32C_POLY : 0);
      crc32c_table[0][i] = c;
    }
  for (guint i = 0; i < 256; i++)
    for (guint t = 1; t < 8; t++)
      crc32c_table[t][i] = (crc32c_table[t - 1][i] >> 8) ^
                           crc32c_table[0][crc32c_table[t - 1][i] & 0xff];
  return NULL;
}

static void
ensure_tables (void)
{
  static GOnce once = G_ONCE_INIT;

  g_once (&once, build_tables, NULL);
}

guint32
_vmstate_crc32c_sw (guint32     crc,
                    const void *data,
                    gsize       len)
{
  const guint8 *p = data;

  ensure_tables ();
  crc = ~crc;
  while (len > 0 && ((guintptr) p & 7) != 0)
    {
      crc = (crc >> 8) ^ crc32c_table[0][(crc ^ *p++) & 0xff];
      len--;
    }
  while (len >= 8)
    {
      guint32 lo, hi;

      memcpy (&lo, p, 4);
      memcpy (&hi, p + 4, 4);
      lo = GUINT32_FROM_LE (lo) ^ crc;
      hi = GUINT32_FROM_LE (hi);
      crc = crc32c_table[7][lo & 0xff] ^
            crc32c_table[6][(lo >> 8) & 0xff] ^
            crc32c_table[5][(lo >> 16) & 0xff] ^
            crc32c_table[4][lo >> 24] ^
            crc32c_table[3][hi & 0xff] ^
            crc32c_table[2][(hi >> 8) & 0xff] ^
            crc32c_table[1][(hi >> 16) & 0xff] ^
            crc32c_table[0][hi >> 24];
      p += 8;
      len -= 8;
    }
  while (len-- > 0)
    crc = (crc >> 8) ^ crc32c_table[0][(crc ^ *p++) & 0xff];
  return ~crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
# define HAVE_CRC32C_HW 1

/* Three independent streams would hide the instruction's latency
 * (3 cycles) and triple the speed again, but one stream already costs
 * about 0.1 ms per MiB, a tenth of the budget: not worth the code that
 * combines the streams. */
__attribute__((target ("sse4.2")))
static guint32
crc32c_hw (guint32     crc,
           const void *data,
           gsize       len)
{
  const guint8 *p = data;
  guint64 c = ~crc;

  while (len > 0 && ((guintptr) p & 7) != 0)
    {
      c = __builtin_ia32_crc32qi ((guint32) c, *p++);
      len--;
    }
  while (len >= 8)
    {
      guint64 word;

      memcpy (&word, p, 8);
      c = __builtin_ia32_crc32di (c, word);
      p += 8;
      len -= 8;
    }
  while (len-- > 0)
    c = __builtin_ia32_crc32qi ((guint32) c, *p++);
  return ~(guint32) c;
}
#endif

gboolean
_vmstate_crc32c_is_hw (void)
{
#ifdef HAVE_CRC32C_HW
  return __builtin_cpu_supports ("sse4.2");
#else
  return FALSE;
#endif
}

guint32
_vmstate_crc32c (guint32     crc,
                 const void *data,
                 gsize       len)
{
#ifdef HAVE_CRC32C_HW
  static int hw = -1;
  int use_hw = g_atomic_int_get (&hw);

  if (G_UNLIKELY (use_hw < 0))
    {
      use_hw = _vmstate_crc32c_is_hw ();
      g_atomic_int_set (&hw, use_hw);
    }
  if (use_hw)
    return crc32c_hw (crc, data, len);
#endif
  return _vmstate_crc32c_sw (crc, data, len);
}
