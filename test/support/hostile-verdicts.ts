/**
 * What the hostile-input sweep (test/hostile-input.test.ts) holds against the answers, each rule
 * with the requests that broke it and a report that makes every offender actionable.
 */
import {
  type Answer,
  describeOffenders,
  type HostileCase,
  isServerError,
  isSuccess,
  isUnauthenticated,
  summarizeByInput,
} from "./hostile-runner.js";

export interface Verdict {
  title: string;
  offenders: Answer[];
  /** A note on each offender (what is wrong with it), shown in the report. */
  note?: (answer: Answer) => string;
}

/** Bad input is never a 5xx (docs/api.md, "Errors"), nor a gRPC server error, nor no answer at all. */
export function serverErrors(answers: Answer[]): Verdict {
  return {
    title: "Server errors (5xx, gRPC server codes, no answer)",
    offenders: answers.filter(isServerError),
  };
}

const shapeNote = (answer: Answer) => answer.shapeErrors.join("; ");

/** Every REST 4xx is problem+json `{type, title, status, detail, code}` whose status is the HTTP one. */
export function restShapeErrors(answers: Answer[]): Verdict {
  return {
    title: "REST 4xx that are not proper problem+json",
    offenders: answers.filter((answer) => answer.case.protocol === "rest" && answer.shapeErrors.length > 0),
    note: shapeNote,
  };
}

/** Every Connect error is JSON with a Connect code and the HTTP status Connect gives that code. */
export function connectShapeErrors(answers: Answer[]): Verdict {
  return {
    title: "Connect errors that are not proper Connect errors",
    offenders: answers.filter(
      (answer) => answer.case.protocol === "connect" && answer.shapeErrors.length > 0,
    ),
    note: shapeNote,
  };
}

/** Inputs that put NUL or an unpaired surrogate in a string (see hostileTexts). */
const MALFORMED_TEXT = /NUL|surrogate/;

const INTERNAL_REFUSAL: Record<string, string> = {
  anonymous: "unauthenticated",
  customer: "permission_denied",
  admin: "permission_denied",
};

/**
 * docs/api.md, "Internal services": only the service credential may call them; admin and customer
 * tokens get permission_denied, an anonymous caller unauthenticated. A request the decoder accepts
 * reaches the service, so it must be refused for who sent it, not for what it holds; none succeeds.
 * The one check made before the caller's is the platform's text check (NUL, unpaired surrogates),
 * which every method gets before it runs: such a request may be invalid_argument instead.
 */
export function internalServiceLeaks(answers: Answer[]): Verdict {
  return {
    title: "Internal-service calls not refused as docs/api.md says",
    offenders: answers.filter((answer) => {
      const wanted = INTERNAL_REFUSAL[answer.caller.name];
      if (!answer.case.internal || wanted === undefined) return false;
      if (isSuccess(answer)) return true;
      if (answer.code === "invalid_argument" && MALFORMED_TEXT.test(answer.case.input)) return false;
      return answer.case.wellFormed === true && !isServerError(answer) && answer.code !== wanted;
    }),
    note: (answer) => `wanted ${INTERNAL_REFUSAL[answer.caller.name]}`,
  };
}

/**
 * docs/api.md, "Internal services": on the public services a service token grants nothing beyond what
 * an anonymous caller may do, so where the same request is refused as anonymous, it fails for the
 * service credential too.
 */
export function serviceCredentialLeaks(answers: Answer[]): Verdict {
  const byCase = new Map<HostileCase, Map<string, Answer>>();
  for (const answer of answers) {
    if (answer.case.internal || answer.case.callers !== undefined) continue;
    const callers = byCase.get(answer.case) ?? new Map<string, Answer>();
    callers.set(answer.caller.name, answer);
    byCase.set(answer.case, callers);
  }
  const offenders: Answer[] = [];
  for (const callers of byCase.values()) {
    const anonymous = callers.get("anonymous");
    const service = callers.get("service");
    if (anonymous && service && isUnauthenticated(anonymous) && isSuccess(service)) offenders.push(service);
  }
  return { title: "Service-credential successes where an anonymous caller is refused", offenders };
}

/** Every verdict of the sweep, in the order the suite asserts them. */
export function allVerdicts(answers: Answer[]): Verdict[] {
  return [
    serverErrors(answers),
    restShapeErrors(answers),
    connectShapeErrors(answers),
    internalServiceLeaks(answers),
    serviceCredentialLeaks(answers),
  ];
}

/** A summary of a verdict's offenders followed by every one of them. */
export function report(verdict: Verdict): string {
  const { title, offenders, note } = verdict;
  return (
    `${title}: ${offenders.length} request(s)\n` +
    `By hostile input:\n${summarizeByInput(offenders)}\n\n` +
    `Every offender:\n${describeOffenders(offenders, note)}`
  );
}
