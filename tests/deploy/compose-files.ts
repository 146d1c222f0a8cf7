import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../support/paths';

/** The parts of a compose service the deploy tests read. */
export interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[]; interval?: string; timeout?: string; start_period?: string; retries?: number };
  ports?: string[];
  expose?: string[];
  profiles?: string[];
  volumes?: string[];
}

export interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

/** A YAML file of the project, parsed. */
export function readYaml<T>(file: string): T {
  return parse(readFileSync(path.join(PROJECT_ROOT, file), 'utf8')) as T;
}

/** `${NAME:-default}` as compose reads it with NAME unset: the default. */
export function withDefaults(value: string): string {
  return value.replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1');
}

/** One `volumes:` entry: a bind mount (`./host:/container[:ro]`) or a named volume. */
export interface Mount {
  /** The host path, from the project's root, for a bind mount; undefined for a named volume. */
  hostPath?: string;
  target: string;
}

export function mountsOf(service: Service): Mount[] {
  return (service.volumes ?? []).map((entry) => {
    const [source, target] = withDefaults(entry).split(':');
    return source.startsWith('.') || source.startsWith('/') ? { hostPath: path.normalize(source), target } : { target };
  });
}

/** Where a path inside a service's container comes from on the host (through its bind mounts), if it does. */
export function hostPathOf(service: Service, containerPath: string): string | undefined {
  for (const mount of mountsOf(service)) {
    if (mount.hostPath === undefined) continue;
    if (containerPath === mount.target) return mount.hostPath;
    if (containerPath.startsWith(`${mount.target}/`)) return path.join(mount.hostPath, containerPath.slice(mount.target.length + 1));
  }
  return undefined;
}

export function existsInProject(file: string): boolean {
  return existsSync(path.join(PROJECT_ROOT, file));
}
