/* patchgate: image lineage, derived from layer DiffIDs.
 *
 * An image built FROM a base starts with the base's DiffIDs, so the images
 * of a database form a hierarchy: base -> enterprise image -> application.
 * The parent of an image is the scanned image whose DiffID list is the
 * longest proper prefix of its own (of several with that very list, the one
 * first seen earliest, then the smallest digest).  When a base is patched
 * (a newer build of its repository:tag was scanned) or revoked, the images
 * built on its older build have to be rebuilt: lineage_rebuilds lists them.
 */
#ifndef PATCHGATE_LINEAGE_H
#define PATCHGATE_LINEAGE_H

#include "store/catalog.h"

#define PG_LINEAGE_NONE ((size_t) -1)

struct pg_lineage
{
  const struct pg_catalog *cat; /* borrowed */
  size_t *parent;               /* per image: an index into cat->images, or PG_LINEAGE_NONE */
  size_t *n_children;
  /* Per image, its DiffIDs as one key "d1\nd2\n" (a list's prefixes are
     the key's prefixes that end at a newline); and the scanned images with
     layers (those that can be built on) by key, of equal keys the one
     first seen earliest (then the smallest digest) first.  */
  char **key;
  size_t *key_len;
  size_t *sorted;
  size_t n_sorted;
};

void lineage_build (const struct pg_catalog *cat, struct pg_lineage *out);
/* The scanned images whose DiffIDs are the first entries of IMAGE's, up to
   byte LEN of its key (LEN ends at a newline): l->sorted[*FIRST..*END).  */
void lineage_prefix_run (const struct pg_lineage *l, size_t image, size_t len, size_t *first, size_t *end);
void lineage_free (struct pg_lineage *l);
#define cleanup_lineage __attribute__ ((cleanup (lineage_free)))

/* Whether BASE's DiffIDs start IMAGE's (equal lists too; BASE has one at
   least): what rule_revoked_base calls built on BASE.  */
bool lineage_starts_with (const struct pg_catalog_image *image, const struct pg_catalog_image *base);

/* ---- rebuilds ---- */

/* An image to rebuild: it is built on an older (or revoked) build of a
   base.  VIA is the image it was built FROM when that is not the base build
   itself but an image between them (an enterprise image on the base), and
   DEPTH counts the steps from the base build (1: built FROM it directly),
   so that rebuilding in order of DEPTH rebuilds each image after what it is
   built FROM.  */
struct pg_rebuild_image
{
  size_t image;
  size_t via; /* or PG_LINEAGE_NONE */
  size_t depth;
};

/* A build of a base that images should no longer be built on: superseded by
   a newer build of the base's repository:tag, or revoked by the policy.  */
struct pg_base_build
{
  size_t image;
  int64_t first_seen; /* under the base's name (line groups), else the image's */
  bool revoked;
  struct pg_rebuild_image *rebuild;
  size_t n_rebuild;
};

enum pg_rebuild_kind
{
  PG_REBUILD_LINE,  /* repository:tag names, with older builds and a newest one */
  PG_REBUILD_BUILD, /* one build named by digest, or revoked by the policy */
};

struct pg_rebuild_group
{
  enum pg_rebuild_kind kind;
  char **names; /* "repository:tag": the lines (several that share every build are one group) */
  size_t n_names;
  size_t newest; /* the newest build of the line, or PG_LINEAGE_NONE */
  int64_t newest_since;
  struct pg_base_build *builds; /* the older builds (line), or the one build */
  size_t n_builds;
};

struct pg_rebuilds
{
  struct pg_rebuild_group *groups;
  size_t n_groups;
  size_t n_images; /* distinct images to rebuild over every group */
};

/* What to report on.  ALL: every line with an older build that images are
   built on, and every revoked base; else REPOSITORY (with TAG, or every tag
   of it), or the one build of row IMAGE.  REVOKED: rows of the policy's
   revoked bases that the store knows.  */
struct pg_rebuild_query
{
  bool all;
  const char *repository;
  const char *tag;
  int64_t image;
  const int64_t *revoked;
  size_t n_revoked;
};

/* Fails when a named base is not in the database.  */
int lineage_rebuilds (const struct pg_lineage *l, const struct pg_rebuild_query *q, struct pg_rebuilds *out,
                      pg_error_t *err);
void pg_rebuilds_free (struct pg_rebuilds *r);
#define cleanup_rebuilds __attribute__ ((cleanup (pg_rebuilds_free)))
/* {"bases": [{"kind", "names", "newest", "builds": [{"digest", "names",
   "first_seen", "revoked", "rebuild": [{"digest", "repositories", "names",
   "last_scan", "via", "depth"}]}]}], "images_to_rebuild": N}  */
json_t *lineage_rebuilds_json (const struct pg_lineage *l, const struct pg_rebuilds *r);

/* "repository:tag" names of image I, its repositories; as new vectors.  */
void lineage_image_names (const struct pg_catalog_image *im, char ***tags, size_t *n_tags, char ***repos,
                          size_t *n_repos);

#endif
