/** Numbered schema migrations, applied in order inside one transaction at open (same SQL on PGlite and PostgreSQL). */
export const MIGRATIONS: { id: number; statements: string[] }[] = [
  {
    id: 1,
    statements: [
      `create table rc_feedback (
         id bigserial primary key,
         service_id text not null,
         card_uuid text not null,
         outcome text not null check (outcome in ('accepted', 'overridden')),
         outcome_timestamp timestamptz not null,
         accepted_suggestions jsonb not null default '[]',
         override_reason_code text,
         override_reason_system text,
         override_reason_display text,
         user_comment text,
         client_iss text,
         client_sub text,
         tenant text,
         received_at timestamptz not null default now(),
         unique (card_uuid, outcome, outcome_timestamp)
       )`,
      `create table rc_audit (
         id bigserial primary key,
         time timestamptz not null,
         client_iss text,
         client_sub text,
         tenant text,
         service_id text not null,
         hook_instance text,
         model_id text not null,
         model_version text not null,
         patient_hash text,
         risk double precision,
         card_uuids jsonb not null default '[]',
         latency_ms double precision not null,
         status integer not null,
         outcome text not null
       )`,
      'create index rc_audit_time on rc_audit (time)',
      'create index rc_audit_cards on rc_audit using gin (card_uuids)',
      `create table rc_jti (
         iss text not null,
         jti text not null,
         expires_at timestamptz not null,
         primary key (iss, jti)
       )`,
      `create table rc_explanation (
         id text primary key,
         payload jsonb not null,
         expires_at timestamptz not null
       )`,
    ],
  },
  {
    // Explanation pages are written on every call and only ever read back whole: stored as text,
    // not jsonb, they skip jsonb's parse and binary encoding (about half of a call's store cost).
    id: 2,
    statements: ['alter table rc_explanation alter column payload type text using payload::text'],
  },
];
