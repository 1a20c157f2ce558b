/*
 * serve - `tem serve`: start-up, signals, reloads and shutdown.
 */
#ifndef TEM_SERVE_H
#define TEM_SERVE_H

struct conf;

/* Runs the server in the foreground; returns the exit status. Takes c
 * (it becomes the running state's config, server/state.h). */
int serve_main(struct conf *c);

#endif
