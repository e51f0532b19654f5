-- The raw tables of docs/raw-tables.md, as the ingester creates them.
CREATE SCHEMA IF NOT EXISTS raw;
CREATE TABLE raw.sources (source VARCHAR PRIMARY KEY, endpoint VARCHAR, timezone VARCHAR, locales VARCHAR[], last_complete_run BIGINT);
CREATE TABLE raw.projects (source VARCHAR, id VARCHAR, payload JSON, content_hash VARCHAR, first_seen_run BIGINT, last_seen_run BIGINT, deleted_run BIGINT, PRIMARY KEY (source, id));
CREATE TABLE raw.steps (source VARCHAR, id VARCHAR, project_id VARCHAR, position INTEGER, payload JSON, content_hash VARCHAR, first_seen_run BIGINT, last_seen_run BIGINT, deleted_run BIGINT, PRIMARY KEY (source, id));
CREATE TABLE raw.proposals (source VARCHAR, id VARCHAR, project_id VARCHAR, collect_step_id VARCHAR, author_id VARCHAR, payload JSON, content_hash VARCHAR, first_seen_run BIGINT, last_seen_run BIGINT, deleted_run BIGINT, PRIMARY KEY (source, id));
CREATE TABLE raw.proposal_steps (source VARCHAR, id VARCHAR, proposal_id VARCHAR, step_id VARCHAR, step_kind VARCHAR, payload JSON, content_hash VARCHAR, first_seen_run BIGINT, last_seen_run BIGINT, deleted_run BIGINT, PRIMARY KEY (source, id));
CREATE TABLE raw.proposal_votes (source VARCHAR, id VARCHAR, proposal_id VARCHAR, payload JSON, content_hash VARCHAR, first_seen_run BIGINT, last_seen_run BIGINT, deleted_run BIGINT, PRIMARY KEY (source, id));
CREATE TABLE raw.questions (source VARCHAR, id VARCHAR, questionnaire_id VARCHAR, payload JSON, content_hash VARCHAR, first_seen_run BIGINT, last_seen_run BIGINT, deleted_run BIGINT, PRIMARY KEY (source, id));
CREATE TABLE raw.replies (source VARCHAR, id VARCHAR, project_id VARCHAR, step_id VARCHAR, questionnaire_id VARCHAR, author_id VARCHAR, payload JSON, content_hash VARCHAR, first_seen_run BIGINT, last_seen_run BIGINT, deleted_run BIGINT, PRIMARY KEY (source, id));
CREATE TABLE raw.contributions (source VARCHAR, id VARCHAR, project_id VARCHAR, payload JSON, content_hash VARCHAR, first_seen_run BIGINT, last_seen_run BIGINT, deleted_run BIGINT, PRIMARY KEY (source, id));
CREATE TABLE raw.events (source VARCHAR, id VARCHAR, payload JSON, content_hash VARCHAR, first_seen_run BIGINT, last_seen_run BIGINT, deleted_run BIGINT, PRIMARY KEY (source, id));
CREATE TABLE raw.event_projects (source VARCHAR, id VARCHAR, event_id VARCHAR, project_id VARCHAR, payload JSON, content_hash VARCHAR, first_seen_run BIGINT, last_seen_run BIGINT, deleted_run BIGINT, PRIMARY KEY (source, id));
CREATE TABLE raw.users (source VARCHAR, id VARCHAR, payload JSON, content_hash VARCHAR, first_seen_run BIGINT, last_seen_run BIGINT, deleted_run BIGINT, PRIMARY KEY (source, id));
CREATE TABLE raw.districts (source VARCHAR, id VARCHAR, payload JSON, content_hash VARCHAR, first_seen_run BIGINT, last_seen_run BIGINT, deleted_run BIGINT, PRIMARY KEY (source, id));
CREATE TABLE raw.ingest_runs (run_id BIGINT, source VARCHAR, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, status VARCHAR, requests BIGINT, retries BIGINT, records BIGINT, changed BIGINT, deleted BIGINT);
