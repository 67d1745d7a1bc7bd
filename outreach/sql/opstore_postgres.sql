-- purpose: the operational outreach tables in PostgreSQL (OPSPOR_OPERATIONAL_DB): schema.sql's tables plus users
-- grain:   one statement per table or index; created if missing, never dropped or rewritten here
-- point in time: rows are appended as events happen; keys stop concurrent app processes from duplicating a write
-- Linted as PostgreSQL, the database it runs on:
-- sqlfluff:dialect:postgres
create schema if not exists outreach;

create table if not exists outreach.list_runs (
    list_id text primary key,
    programme text not null,
    week text not null,
    revision integer not null,
    week_start date not null,
    as_of_date date not null,
    extract_date date not null,
    model_uri text not null,
    extract_hash text,
    generated_at timestamp not null,
    generated_by text not null,
    status text not null,
    reason text,
    counts text not null
);

create unique index if not exists list_runs_one_frozen
on outreach.list_runs (programme, week) where status = 'frozen';

create table if not exists outreach.lists (
    list_id text not null,
    programme text not null,
    week text not null,
    rank integer not null,
    citizen_id text not null,
    area text not null,
    area_name text not null,
    stop text not null,
    preferred_language text,
    risk_score double precision not null,
    risk_rank integer not null,
    risk_band text not null,
    reasons text not null,
    n_reasons integer not null,
    last_contact_date date,
    last_contact_outcome text,
    primary key (list_id, citizen_id)
);

create table if not exists outreach.holdouts (
    list_id text not null,
    programme text not null,
    week text not null,
    as_of_date date not null,
    citizen_id text not null,
    area text not null,
    risk_rank integer not null,
    walk_position integer not null,
    primary key (list_id, citizen_id)
);

create table if not exists outreach.contacts (
    list_id text not null,
    programme text not null,
    week text not null,
    citizen_id text not null,
    outcome text not null,
    outcome_date date not null,
    recorded_by text not null,
    opt_out boolean not null,
    note text,
    recorded_at timestamp not null,
    source text not null,
    unique (list_id, citizen_id, outcome, outcome_date)
);

create table if not exists outreach.opt_outs (
    citizen_id text primary key,
    opted_out_date date not null,
    list_id text,
    recorded_by text not null,
    recorded_at timestamp not null
);

create table if not exists outreach.audit_log (
    event_id bigserial primary key,
    event text not null,
    actor text not null,
    "at" timestamp not null,
    programme text,
    week text,
    list_id text,
    model_uri text,
    extract_hash text,
    counts text
);

create table if not exists outreach.users (
    name text primary key,
    role text not null,
    password_hash text not null,
    programmes text not null,
    municipalities text not null,
    language text not null,
    failed_attempts integer not null default 0,
    locked_until timestamp,
    created_at timestamp
);
