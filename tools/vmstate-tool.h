/* vmstate-tool.h: shared parts of the vmstate command-line tool
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <libvmstate/libvmstate.h>

G_BEGIN_DECLS

/* Exit statuses of every subcommand. */
#define TOOL_EXIT_OK      0
#define TOOL_EXIT_FAILURE 1
#define TOOL_EXIT_USAGE   2

/* A subcommand, as data: the dispatcher in vmstate.c builds its option
 * context and help from it, checks the positional arguments (none, or
 * the one named by @parameter_string: "FILE is required", "unexpected
 * argument 'X'") and then calls @run. */
typedef struct
{
  const char *name;
  /* "FILE": the command takes that one argument; NULL: none */
  const char *parameter_string;
  const char *summary;
  /* the --help text after the options */
  const char *description;
  /* the option groups, up to the first NULL */
  const GOptionEntry *entries[4];
  /* Runs the subcommand once its options are parsed; @argument is the
   * argument @parameter_string names (NULL when there is none). Returns
   * an exit status. */
  int  (*run) (const char *argument);
} ToolCommand;

extern const ToolCommand tool_command_list;
extern const ToolCommand tool_command_save;
extern const ToolCommand tool_command_load;
extern const ToolCommand tool_command_inspect;
extern const ToolCommand tool_command_serve;
extern const ToolCommand tool_command_bus;

/* Both print MESSAGE escaped with tool_escape_text() (it may hold Ids,
 * section names, paths): no control character reaches the terminal. */
/* Prints "vmstate CMD: MESSAGE" and a hint to use --help; returns 2. */
int        tool_usage_error     (const char  *command,
                                 const char  *format,
                                 ...) G_GNUC_PRINTF (2, 3);
/* Prints "vmstate CMD: MESSAGE"; returns 1. */
int        tool_failure         (const char  *command,
                                 const char  *format,
                                 ...) G_GNUC_PRINTF (2, 3);

/* An Id as a message shows it, as libvmstate's messages do: escaped
 * with tool_escape_text(), cut after TOOL_ID_SHOWN_CHARS characters with
 * "…". Allocated. */
#define TOOL_ID_SHOWN_CHARS 64
char      *tool_abbreviate_id   (const char  *id);

/* Parses --max-state-size: bytes, or a number with a binary suffix (K,
 * KiB, M, MiB), 0 to 64 MiB; -1 when @value is NULL (not given). */
#define TOOL_MAX_STATE_SIZE (64 * 1024 * 1024)
#define TOOL_SIZE_OPTION_HELP \
  "bytes, or with a suffix: 65536, 64K, 1M, 1MiB; at most 64M"
gboolean   tool_parse_max_state_size (const char  *value,
                                      int         *size_out,
                                      GError     **error);

/* Splits --ids values ("a,b" or repeated) into a strv; NULL when none
 * were given; FALSE on an empty Id. */
gboolean   tool_parse_ids       (char       **values,
                                 char      ***ids_out,
                                 GError     **error);

/* What a file given to load or inspect turned out to be. */
typedef enum {
  TOOL_INPUT_BLOB,
  TOOL_INPUT_STREAM,
} ToolInputKind;

/* One section (or marker) met while walking a migration stream. */
typedef struct
{
  guint8   type;
  const char *type_name;
  gsize    offset;        /* of the section type byte */
  gboolean has_header;    /* start/full: id, name, instance, version */
  guint32  section_id;
  char    *name;          /* start/full only; NULL otherwise */
  guint32  instance_id;
  guint32  version_id;
  gsize    data_offset;   /* first byte after the header */
  gsize    data_size;     /* bytes of data up to the footer */
} ToolSection;

typedef struct
{
  ToolInputKind kind;
  GBytes       *file;            /* the whole file */
  /* for TOOL_INPUT_STREAM */
  guint32       stream_version;
  GPtrArray    *sections;        /* of ToolSection */
  GPtrArray    *payload_sections;/* ToolSection (not owned) of each dbus-vmstate section */
  GPtrArray    *payloads;        /* GBytes of each dbus-vmstate section */
  gsize         vmdesc_offset;   /* 0 when the stream has no JSON description */
  gsize         vmdesc_size;
  /* the one payload (blob) load uses: the file itself, or the stream's
   * only dbus-vmstate payload; NULL if the stream has none or several */
  GBytes       *payload;
} ToolInput;

void        tool_input_free    (ToolInput   *input);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ToolInput, tool_input_free)

/* Reads @path ("-" for standard input; pipes work too): a migration stream (it starts with "QEVM") is walked
 * section by section; anything else is taken as a blob. The blob itself
 * is not parsed here. */
ToolInput  *tool_input_read    (const char  *path,
                                GError     **error);
/* @path as messages name it: "standard input" for "-". */
const char *tool_input_shown_name (const char *path);

/* Walks a migration stream in memory. */
ToolInput  *tool_input_parse_stream (GBytes  *file,
                                     GError **error);

/* Appends the JSON object that describes a migration stream's walk:
 * version, description, each section (names escaped), and the index of
 * the dbus-vmstate section (null unless there is exactly one). */
void        tool_input_append_stream_json (GString   *out,
                                           ToolInput *input);

G_END_DECLS
