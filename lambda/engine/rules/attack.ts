/**
 * The slice of MITRE ATT&CK (Enterprise, v17) that cloud detection rules refer to. Rule lint checks
 * every `threat` entry against it, so a mistyped id or a name copied from the wrong technique fails CI
 * instead of reaching an analyst's alert. Classic tactic names are used (v17 still has Defense Evasion).
 */

/** A tactic: the adversary's goal a technique serves. */
export interface AttackTactic {
  readonly id: string;
  readonly name: string;
}

/** A technique or sub-technique; a sub-technique's `name` is its own, `fullName` adds the parent's. */
export interface AttackTechnique {
  readonly id: string;
  readonly name: string;
  /** `Parent: Sub` for sub-techniques, as ATT&CK displays them; `name` otherwise. */
  readonly fullName: string;
  readonly tactics: readonly string[];
  readonly parent?: string;
  readonly reference: string;
}

/** The shape of a technique or sub-technique id: `T1098`, `T1098.003`. */
export const TECHNIQUE_ID = /^T\d{4}(\.\d{3})?$/;

/** The ATT&CK release the table was checked against. */
export const ATTACK_VERSION = '17';

/** Tactic names keyed by name, so a rule can write `Persistence` and the alert can show `TA0003`. */
export const ATTACK_TACTICS: ReadonlyMap<string, AttackTactic> = new Map(
  (
    [
      ['TA0043', 'Reconnaissance'],
      ['TA0042', 'Resource Development'],
      ['TA0001', 'Initial Access'],
      ['TA0002', 'Execution'],
      ['TA0003', 'Persistence'],
      ['TA0004', 'Privilege Escalation'],
      ['TA0005', 'Defense Evasion'],
      ['TA0006', 'Credential Access'],
      ['TA0007', 'Discovery'],
      ['TA0008', 'Lateral Movement'],
      ['TA0009', 'Collection'],
      ['TA0011', 'Command and Control'],
      ['TA0010', 'Exfiltration'],
      ['TA0040', 'Impact'],
    ] as const
  ).map(([id, name]) => [name, { id, name }]),
);

type Row = readonly [id: string, name: string, tactics?: readonly string[]];

/** Parent techniques carry tactics; sub-techniques inherit them unless a row says otherwise. */
const ROWS: readonly Row[] = [
  ['T1078', 'Valid Accounts', ['Defense Evasion', 'Persistence', 'Privilege Escalation', 'Initial Access']],
  ['T1078.001', 'Default Accounts'],
  ['T1078.002', 'Domain Accounts'],
  ['T1078.003', 'Local Accounts'],
  ['T1078.004', 'Cloud Accounts'],
  ['T1098', 'Account Manipulation', ['Persistence', 'Privilege Escalation']],
  ['T1098.001', 'Additional Cloud Credentials'],
  ['T1098.002', 'Additional Email Delegate Permissions'],
  ['T1098.003', 'Additional Cloud Roles'],
  ['T1098.004', 'SSH Authorized Keys'],
  ['T1098.005', 'Device Registration'],
  ['T1098.006', 'Additional Container Cluster Roles'],
  ['T1098.007', 'Additional Local or Domain Groups'],
  ['T1136', 'Create Account', ['Persistence']],
  ['T1136.003', 'Cloud Account'],
  ['T1531', 'Account Access Removal', ['Impact']],
  ['T1529', 'System Shutdown/Reboot', ['Impact']],
  ['T1485', 'Data Destruction', ['Impact']],
  ['T1486', 'Data Encrypted for Impact', ['Impact']],
  ['T1490', 'Inhibit System Recovery', ['Impact']],
  ['T1496', 'Resource Hijacking', ['Impact']],
  ['T1496.004', 'Cloud Service Hijacking'],
  ['T1562', 'Impair Defenses', ['Defense Evasion']],
  ['T1562.001', 'Disable or Modify Tools'],
  ['T1562.007', 'Disable or Modify Cloud Firewall'],
  ['T1562.008', 'Disable or Modify Cloud Logs'],
  ['T1578', 'Modify Cloud Compute Infrastructure', ['Defense Evasion']],
  ['T1578.001', 'Create Snapshot'],
  ['T1578.002', 'Create Cloud Instance'],
  ['T1578.003', 'Delete Cloud Instance'],
  ['T1578.004', 'Revert Cloud Instance'],
  ['T1578.005', 'Modify Cloud Compute Configurations'],
  ['T1535', 'Unused/Unsupported Cloud Regions', ['Defense Evasion']],
  ['T1666', 'Modify Cloud Resource Hierarchy', ['Defense Evasion']],
  ['T1484', 'Domain or Tenant Policy Modification', ['Defense Evasion', 'Privilege Escalation']],
  ['T1484.002', 'Trust Modification'],
  ['T1548', 'Abuse Elevation Control Mechanism', ['Privilege Escalation', 'Defense Evasion']],
  ['T1548.005', 'Temporary Elevated Cloud Access'],
  ['T1556', 'Modify Authentication Process', ['Credential Access', 'Defense Evasion', 'Persistence']],
  ['T1556.006', 'Multi-Factor Authentication'],
  ['T1556.007', 'Hybrid Identity'],
  ['T1556.009', 'Conditional Access Policies'],
  ['T1550', 'Use Alternate Authentication Material', ['Defense Evasion', 'Lateral Movement']],
  ['T1550.001', 'Application Access Token'],
  ['T1528', 'Steal Application Access Token', ['Credential Access']],
  ['T1552', 'Unsecured Credentials', ['Credential Access']],
  ['T1552.001', 'Credentials In Files'],
  ['T1552.005', 'Cloud Instance Metadata API'],
  ['T1555', 'Credentials from Password Stores', ['Credential Access']],
  ['T1555.006', 'Cloud Secrets Management Stores'],
  ['T1606', 'Forge Web Credentials', ['Credential Access']],
  ['T1606.002', 'SAML Tokens'],
  ['T1110', 'Brute Force', ['Credential Access']],
  ['T1110.003', 'Password Spraying'],
  ['T1110.004', 'Credential Stuffing'],
  ['T1621', 'Multi-Factor Authentication Request Generation', ['Credential Access']],
  ['T1580', 'Cloud Infrastructure Discovery', ['Discovery']],
  ['T1526', 'Cloud Service Discovery', ['Discovery']],
  ['T1538', 'Cloud Service Dashboard', ['Discovery']],
  ['T1619', 'Cloud Storage Object Discovery', ['Discovery']],
  ['T1069', 'Permission Groups Discovery', ['Discovery']],
  ['T1069.003', 'Cloud Groups'],
  ['T1087', 'Account Discovery', ['Discovery']],
  ['T1087.004', 'Cloud Account'],
  ['T1654', 'Log Enumeration', ['Discovery']],
  ['T1530', 'Data from Cloud Storage', ['Collection']],
  ['T1537', 'Transfer Data to Cloud Account', ['Exfiltration']],
  ['T1648', 'Serverless Execution', ['Execution']],
  ['T1651', 'Cloud Administration Command', ['Execution']],
  ['T1190', 'Exploit Public-Facing Application', ['Initial Access']],
  ['T1199', 'Trusted Relationship', ['Initial Access']],
];

function buildTable(rows: readonly Row[]): ReadonlyMap<string, AttackTechnique> {
  const table = new Map<string, AttackTechnique>();
  for (const [id, name, tactics] of rows) {
    const [base, sub] = id.split('.');
    const parent = sub === undefined ? undefined : table.get(base ?? '');
    if (sub !== undefined && parent === undefined) {
      throw new Error(`ATT&CK table: ${id} listed before ${base}`);
    }
    table.set(id, {
      id,
      name,
      fullName: parent ? `${parent.name}: ${name}` : name,
      tactics: tactics ?? parent?.tactics ?? [],
      ...(parent ? { parent: parent.id } : {}),
      reference: `https://attack.mitre.org/techniques/${id.replace('.', '/')}/`,
    });
  }
  return table;
}

/** Every technique the lint knows, keyed by id (`T1098`, `T1098.003`). */
export const ATTACK_TECHNIQUES: ReadonlyMap<string, AttackTechnique> = buildTable(ROWS);

/** Looks a technique up by id; undefined when the table does not know it. */
export function attackTechnique(id: string): AttackTechnique | undefined {
  return ATTACK_TECHNIQUES.get(id);
}
