/**
 * autocannon `setupRequest` hook that gives every request texts no request sent before, so each
 * one misses the cache and reaches the model. It is a module of its own, exported with `export =`,
 * because autocannon worker threads `require` hooks by file path and call the export directly.
 */
import { threadId } from 'node:worker_threads';
import type { Request } from 'autocannon';
import { benchText } from '../texts';

/** What the scenario puts in autocannon's `initialContext` (cloned into every connection). */
interface NewTextContext {
  /** JSON body up to the variable's value, e.g. `{"query":"…","variables":{"text":`. */
  bodyPrefix: string;
  /** Texts a request: 0 sends one string (`predict`), n > 0 an array of n (`predictMany`). */
  texts: number;
}

// Text indices: 1e6 and up (the in-process texts and the primed cached text sit below), threads
// interleaved. `next` only grows, so within a thread no index repeats across scenarios; autocannon
// worker thread ids are never reused within a process, and a run creates far fewer than 128.
const MAX_THREADS = 128;
const HTTP_BASE = 1e6;
let next = 0;

function nextText(): string {
  return benchText(HTTP_BASE + next++ * MAX_THREADS + (threadId % MAX_THREADS));
}

function newTextRequest(request: Request, context: object): Request {
  const { bodyPrefix, texts } = context as NewTextContext;
  const value = texts === 0 ? JSON.stringify(nextText()) : JSON.stringify(Array.from({ length: texts }, nextText));
  request.body = `${bodyPrefix}${value}}}`;
  return request;
}

export = newTextRequest;
