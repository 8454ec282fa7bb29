/* patchgate: inside the decision index: what compile.c needs of the
 * writer (writer.c) beyond index.h's.  Nothing outside policy/index/
 * includes this.
 */
#ifndef PATCHGATE_INDEX_WRITER_H
#define PATCHGATE_INDEX_WRITER_H

#include "index/index.h"

/* Copy every record and alias of OLD into W, except those of the images in
   DIRTY[0..N_DIRTY) (sorted rowids): 1 when done, 0 when OLD does not read
   as an index writes it (compile everything instead; nothing of W must be
   kept then), -1 on error.  */
int index_writer_copy (pg_index_writer *w, pg_index *old, const int64_t *dirty, size_t n_dirty,
                       pg_error_t *err);
const struct pg_index_stats *index_writer_stats (const pg_index_writer *w);
/* The trailer says the index is a bundle's, of SERIAL made at CREATED.  */
void index_writer_set_bundle (pg_index_writer *w, int64_t serial, int64_t created);

#endif
