#!/usr/bin/python3
# bench-report.py: turns the JSON of vmstate-bench into the Markdown
# tables of BENCHMARKS.md.
#
#   bench/bench-report.py bench.json > tables.md
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import json
import sys


def size(s):
    if s >= 1 << 20 and s % (1 << 20) == 0:
        return '%d MiB' % (s >> 20)
    if s >= 1024 and s % 1024 == 0:
        return '%d KiB' % (s >> 10)
    return '%d B' % s


def ms(series):
    if not series or not series['count']:
        return '-'
    return '%.1f [%.1f–%.1f]' % (series['median_ms'], series['min_ms'], series['max_ms'])


def ratio(r):
    return '-' if r < 0 else '%.2f' % r


def main():
    data = json.load(open(sys.argv[1]))
    m = data['machine']
    s = data['settings']
    print('Machine: %s, %d CPUs, GLib %s; load average at the end: %s; '
          'window %d; %d child processes x %d repetitions per method; wall %.0f s.\n'
          % (m['cpu'], m['online_cpus'], m['glib'], m['loadavg_at_end'],
             s['window'], s['rounds'], s['reps_per_child'], s['wall_s']))

    def table(title, header, cells):
        print(title + '\n')
        print('| ' + ' | '.join(h for h, _ in header) + ' |')
        print('|' + '|'.join(a for _, a in header) + '|')
        for r in data['rows']:
            c, w, q = r.get('collector'), r.get('raw'), r.get('seq')
            print('| ' + ' | '.join(cells(r, c, w, q, r['ratios'])) + ' |')

    def columns(names, text):
        """Numbers right-aligned, the columns named in text (median [min–max]) left."""
        return [(n, '---' if n in text else '---:') for n in names]

    def kib(v):
        return '-' if v is None or v < 0 else '%.1f' % (v / 1024)

    table('### Save (ms: median [min–max])',
          columns(['N', 'S', 'D', 'total', 'collector', 'raw: list + Ids + Save', 'raw: Save calls only',
                   'sequential (QEMU)', 'collector / raw', 'collector / Save calls', 'sequential / collector'],
                  ['collector', 'raw: list + Ids + Save', 'raw: Save calls only', 'sequential (QEMU)']),
          lambda r, c, w, q, x: [
              str(r['n']), size(r['state_size']), str(r['save_delay_ms']), size(r['total_state']),
              ms(c and c['save']), ms(w and w['save']), ms(w and w.get('save_calls')),
              ms(q and q['save']) + (' ¹' if q and 'note' in q else ''),
              ratio(x['save_collector_over_raw']), ratio(x['save_collector_over_raw_calls']),
              ratio(x['save_seq_over_collector'])])
    print('\n¹ one repetition without warm-up: one save takes N x D.\n')

    table('### Load (ms: median [min–max]) and peak RSS (VmHWM, MiB)',
          columns(['N', 'S', 'D', 'collector', 'raw', 'sequential (QEMU)', 'collector / raw',
                   'collector idle', 'collector save peak', 'collector load peak',
                   'limit 2 x total + 16', 'raw save peak'],
                  ['collector', 'raw', 'sequential (QEMU)']),
          lambda r, c, w, q, x: [
              str(r['n']), size(r['state_size']), str(r['save_delay_ms']),
              ms(c and c['load']), ms(w and w['load']), ms(q and q['load']),
              ratio(x['load_collector_over_raw']),
              kib(c and c['rss_idle_kib']), kib(c and c['rss_peak_save_kib']),
              kib(c and c['rss_peak_load_kib']), kib(x['rss_limit_kib']),
              kib(w and w['rss_peak_save_kib'])])

    codec = data.get('codec')
    if codec:
        print('\n### Codec: %d entries of 1 MiB (%.1f MiB)\n' % (codec['entries'], codec['payload_bytes'] / (1 << 20)))
        print('| operation | ms: median [min–max] |')
        print('|---|---|')
        for key, name in (('memcpy_new_buffer', 'memcpy into a malloc\'d buffer'),
                          ('memcpy_warm_buffer', 'memcpy into a reused buffer'),
                          ('serialize', '`vmstate_blob_to_bytes`'),
                          ('parse', '`vmstate_blob_new_from_bytes`')):
            c = codec[key]
            print('| %s | %.2f [%.2f–%.2f] |' % (name, c['median_ms'], c['min_ms'], c['max_ms']))
        print('\n(serialize + parse) / memcpy into a malloc\'d buffer: **%.2f**'
              % codec['serialize_plus_parse_over_memcpy'])


if __name__ == '__main__':
    main()
