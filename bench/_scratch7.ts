import { compileKql } from '../lambda/engine/kql';
const orig = Function;
(globalThis as any).Function = new Proxy(orig, { construct(t, args) { console.log(args[args.length - 1]); return Reflect.construct(t, args); } });
compileKql('(event.provider:"AWS IAM" AND event.action:("DeleteAccessKey" OR "UpdateAssumeRolePolicy" OR "CreatePolicyVersion")) OR (event.provider:"Microsoft.Authorization" AND event.action:("roleAssignments/write" OR "elevateAccess")) OR (event.provider:"gcp.iam" AND event.action:("google.iam.admin.v1.DeleteServiceAccountKey" OR "SetIamPolicy"))');
