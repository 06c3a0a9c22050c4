import { describe, expect, it } from "vitest";
import { isAllowed } from "../../../src/iam/authorize.js";
import { ROLES, type Role } from "../../../src/iam/model.js";
import { INGEST_POLICIES } from "../../../src/auth/method-policies.js";

const PROJECT = "11111111-1111-4111-8111-111111111111";
const OTHER = "22222222-2222-4222-8222-222222222222";

/** The OTLP Export services: profile.write, like ProfileStoreService. */
const OTLP = ["ProfilesService", "LogsService", "TraceService", "MetricsService"];

/** Which agent services each role reaches, straight from docs/iam-model.md. */
const REACHES: Record<Role, string[]> = {
  owner: ["ProfileStoreService", "DebuginfoService", "TelemetryService", "AgentsService", ...OTLP],
  writer: ["ProfileStoreService", "DebuginfoService", "TelemetryService", "AgentsService", ...OTLP],
  viewer: ["TelemetryService", "AgentsService"],
  "profile-writer": ["ProfileStoreService", "TelemetryService", ...OTLP],
  "debuginfo-writer": ["DebuginfoService", "TelemetryService"],
};

const METHODS = [...INGEST_POLICIES.entries()];

describe("authorization of every agent method for every role and scope", () => {
  it("covers the nine Parca methods and the four OTLP Exports", () => {
    expect(METHODS.map(([path]) => path.split("/")[2]).sort()).toEqual(
      [
        "Export",
        "Export",
        "Export",
        "Export",
        "Agents",
        "InitiateUpload",
        "MarkUploadFinished",
        "ReportPanic",
        "ShouldInitiateUpload",
        "Upload",
        "Write",
        "WriteArrow",
        "WriteRaw",
      ].sort(),
    );
  });

  for (const role of ROLES) {
    for (const [path, policy] of METHODS) {
      const service = path.split("/")[1]!.split(".").pop()!;
      const expected = REACHES[role].includes(service);
      it(`${role} on ${path}: org-wide ${expected}, same project ${expected}, other project false`, () => {
        expect(isAllowed([{ role }], policy.permission!, PROJECT)).toBe(expected);
        expect(isAllowed([{ role, projectId: PROJECT }], policy.permission!, PROJECT)).toBe(expected);
        expect(isAllowed([{ role, projectId: OTHER }], policy.permission!, PROJECT)).toBe(false);
      });
    }
  }

  it("combines bindings: a profile-writer plus a debuginfo-writer binding reach both", () => {
    const grants = [
      { role: "profile-writer" as const, projectId: PROJECT },
      { role: "debuginfo-writer" as const, projectId: PROJECT },
    ];
    expect(isAllowed(grants, "profile.write", PROJECT)).toBe(true);
    expect(isAllowed(grants, "debuginfo.write", PROJECT)).toBe(true);
    expect(isAllowed(grants, "profile.read", PROJECT)).toBe(false);
  });

  it("grants organization permissions only through organization-wide bindings", () => {
    expect(isAllowed([{ role: "owner" }], "serviceaccount.create")).toBe(true);
    expect(isAllowed([{ role: "owner", projectId: PROJECT }], "serviceaccount.create")).toBe(false);
    expect(isAllowed([{ role: "owner", projectId: PROJECT }], "serviceaccount.create", PROJECT)).toBe(false);
    expect(isAllowed([{ role: "viewer" }], "serviceaccount.list")).toBe(true);
    expect(isAllowed([{ role: "viewer" }], "serviceaccount.create")).toBe(false);
    expect(isAllowed([], "profile.write", PROJECT)).toBe(false);
  });
});
