/* patchgate: what breaks soon (`patchgate report expiring`): the images the
 * policy allows now and refuses within a window, with the instant each
 * reason starts and why, so that owners act before production breaks.
 *
 * Every instant comes from index_decide, the hook's own decision over the
 * compiled index, never from a second reading of the rules: the report
 * cannot disagree with the hook.  What makes that affordable is that a
 * decision only hardens with time while the data stay as they are: each
 * rule's reason, once true, stays true (an age passes its limit, a grace
 * period or a waiver or an OpenVEX statement runs out, an end-of-life date
 * or the bundle's age is reached; nothing in the policy starts later), so
 * the set of reasons that refuse only grows, and the first second it grows
 * is found by bisection.  expiring.c lists the rules and why each holds.
 */
#ifndef PATCHGATE_EXPIRING_H
#define PATCHGATE_EXPIRING_H

#include "index/index.h"

/* A reason that starts refusing within the window.  */
struct pg_expiring_reason
{
  int64_t at; /* the first second it holds */
  char *code;
  char *detail; /* the decision's, at that second */
  char *remedy;
  bool refuses; /* AT is the image's first refused second */
};

struct pg_expiring_image
{
  char *digest;        /* the digest its index record is stored under (index.h) */
  char *image_id;      /* may be NULL */
  char *name;          /* its first repository:tag, or NULL */
  char **repositories; /* every repository its scans named */
  size_t n_repositories;
  char *scope;                        /* the policy's scope that decides it ("defaults": none) */
  int64_t refused_at;                 /* the first second the hook refuses it */
  struct pg_expiring_reason *reasons; /* by instant, then in the decision's order */
  size_t n_reasons;
};

struct pg_expiring
{
  int64_t now;
  int64_t until;                    /* now + within: the window is (now, until] */
  char *namespace;                  /* NULL: none (the default scope) */
  size_t examined;                  /* images in the index */
  size_t refused_now;               /* of them, refused already at NOW */
  uint64_t decisions;               /* index_decide calls made */
  struct pg_expiring_image *images; /* by refused_at, then name, then digest */
  size_t n_images;
};
void expiring_free (struct pg_expiring *r);
#define cleanup_expiring __attribute__ ((cleanup (expiring_free)))

/* Decide every image of IDX as the hook would for a container of CTX (its
   namespace, max_policy_age and policy_stale; the digest and name are each
   image's own) at NOW and at NOW + WITHIN; for each image allowed at NOW
   (allow or audit) and refused at NOW + WITHIN, the first refused second
   and, after it, each second within the window at which further reason
   codes start.  WITHIN > 0.  */
int expiring_find (pg_index *idx, const struct pg_context *ctx, int64_t now, int64_t within,
                   struct pg_expiring *out, pg_error_t *err);

/* The report as JSON: {"now", "until", "within_seconds", "namespace",
   "images_examined", "images_refused_now", "images_expiring", "expiring":
   [{"at", "in_seconds", "code", "detail", "remedy", "refuses", "digest",
   "image_id", "name", "repositories", "scope", "refused_at"}]}, the
   entries by instant.  */
json_t *expiring_json (const struct pg_expiring *r);
/* The same document, written to OUT entry by entry (indented by 2, the
   keys in the order above): -1 on a write error.  */
int expiring_write_json (const struct pg_expiring *r, FILE *out);

/* The report's reasons, every image's, by instant (then image, then the
   decision's order): pointers into R.  */
struct pg_expiring_row
{
  const struct pg_expiring_image *image;
  const struct pg_expiring_reason *reason;
};
struct pg_expiring_row *expiring_rows (const struct pg_expiring *r, size_t *n);

#endif
