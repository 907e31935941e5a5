/*
 * dir.h: the sorted names of a directory's entries, for the migrations of
 * sql/ and the entries of the spool.
 */
#ifndef TR_DIR_H
#define TR_DIR_H

#include <stddef.h>

#include "base/err.h"

struct tr_dir_list {
    char **names; /* sorted (strcmp), each owned */
    size_t n;
};

/*
 * Fills list with the names in dir that want() accepts, sorted.  A
 * directory that does not exist is an empty list when missing_ok, else
 * TR_EIO; msg names the directory.  TR_ENOMEM.  Release with
 * tr_dir_list_release either way.
 */
enum tr_err tr_dir_list(struct tr_dir_list *list, const char *dir,
                        int (*want)(const char *name), int missing_ok,
                        char *msg, size_t msgsz);

/* Frees what list owns. */
void tr_dir_list_release(struct tr_dir_list *list);

#endif
