/*
 * dir.c: directory listings.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/dir.h"

static int
name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

enum tr_err
tr_dir_list(struct tr_dir_list *list, const char *dir,
            int (*want)(const char *name), int missing_ok, char *msg,
            size_t msgsz)
{
    DIR *dp;
    struct dirent *de;
    char **nv;
    size_t cap = 0;

    list->names = NULL;
    list->n = 0;
    if ((dp = opendir(dir)) == NULL) {
        if (missing_ok && errno == ENOENT)
            return TR_OK;
        return tr_fail(msg, msgsz, TR_EIO, "open directory \"%s\" failed: %s",
                       dir, strerror(errno));
    }
    while ((de = readdir(dp)) != NULL) {
        if (!want(de->d_name))
            continue;
        if (list->n == cap) {
            cap = cap ? cap * 2 : 16;
            if ((nv = realloc(list->names, cap * sizeof(*nv))) == NULL)
                goto oom;
            list->names = nv;
        }
        if ((list->names[list->n] = strdup(de->d_name)) == NULL)
            goto oom;
        list->n++;
    }
    closedir(dp);
    if (list->n > 1)
        qsort(list->names, list->n, sizeof(*list->names), name_cmp);
    return TR_OK;
oom:
    closedir(dp);
    tr_dir_list_release(list);
    return tr_fail(msg, msgsz, TR_ENOMEM, "out of memory");
}

void
tr_dir_list_release(struct tr_dir_list *list)
{
    while (list->n > 0)
        free(list->names[--list->n]);
    free(list->names);
    list->names = NULL;
}
