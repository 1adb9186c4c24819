/*-------------------------------------------------------------------------
 *
 * init.h
 *	  Module start-up, the top of hooks/: the one folder that knows every
 *	  other one.
 *
 *	neural_dag.c		_PG_init: the GUCs, the store's directory and map size,
 *						the hooks and workers of every folder
 *	shmem_hooks.c		the shared memory of every folder: requested and
 *						attached at server start (and after a crash restart)
 *
 * Uses every folder of hooks/; nothing includes it but its own files.
 * Includers include postgres.h first.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_INIT_H
#define NDAG_INIT_H

/* ---------- shmem_hooks.c ---------- */

extern void NdagShmemInit(void);

#endif							/* NDAG_INIT_H */
