import type { RunTerm } from '../train/loop.js';

// What a method preset sees of the run: the networks by role and their 4-D stage taps (f1.., stem excluded).
export interface MethodContext {
  teacher: string | undefined;
  students: string[];
  stages(network: string): string[];
  // The KD temperature from --tau, when given.
  tau?: number;
}

// A named preset of networks, terms, weights and schedules (one file per method in this folder).
export interface MethodDef {
  name: string;
  describe: string;
  paper?: string;
  // The teacher this method wants: frozen (offline KD), trained with the students (online), or none (DML).
  teacher: 'frozen' | 'trainable' | 'none';
  minStudents: number;
  terms(ctx: MethodContext): RunTerm[];
}
