-- Hand-built raw data for the transform tests (values checked by hand in
-- transform_test.go). Three sources:
--   landes     département 40 (433 570 inhabitants), a participatory budget
--              with a collect step over the March 2023 DST change, a vote
--              step over the October 2023 DST change and a selection step
--              without votes; a tie in votes; a null cost and an unparsed one.
--   occitanie  région R76, an orientation consultation (no time zone in
--              raw.sources: Europe/Paris by default).
--   ville-test configured commune (population 10 000), custom winner status.
INSERT INTO raw.sources VALUES
  ('landes', 'https://landes.example/graphql', 'Europe/Paris', ['fr-FR'], 1),
  ('occitanie', 'https://occitanie.example/graphql', NULL, ['fr-FR'], 1),
  ('ville-test', 'https://ville.example/graphql', 'Europe/Paris', ['fr-FR'], 1);

-- landes ---------------------------------------------------------------
INSERT INTO raw.projects VALUES
  ('landes', 'P1', '{"id":"P1","title":"Budget participatif 2023","url":"https://landes.example/project/bp-2023","publishedAt":"2023-02-01 10:00:00","type":{"title":"Budget participatif"},"contributions":{"totalCount":0},"votes":{"totalCount":9},"contributors":{"totalCount":2}}', 'h', 1, 1, NULL),
  ('landes', 'PDEL', '{"id":"PDEL","title":"Deleted","url":"u","publishedAt":"2022-01-01 10:00:00"}', 'h', 1, 1, 2);

INSERT INTO raw.steps VALUES
  ('landes', 'S1', 'P1', 0, '{"__typename":"CollectStep","id":"S1","title":"Dépôt des projets","url":"u","state":"CLOSED","timeRange":{"startAt":"2023-03-01 00:00:00","endAt":"2023-03-31 23:59:59"}}', 'h', 1, 1, NULL),
  ('landes', 'S2', 'P1', 1, '{"__typename":"SelectionStep","id":"S2","title":"Vote","url":"u","state":"CLOSED","timeRange":{"startAt":"2023-10-01 00:00:00","endAt":"2023-10-31 23:59:59"}}', 'h', 1, 1, NULL),
  ('landes', 'S3', 'P1', 2, '{"__typename":"SelectionStep","id":"S3","title":"Lauréats","url":"u","state":"OPENED","timeRange":{"startAt":"2023-11-01 00:00:00","endAt":"2023-12-31 23:59:59"}}', 'h', 1, 1, NULL),
  ('landes', 'pstep1', 'P1', 3, '{"__typename":"PresentationStep","id":"pstep1","title":"Présentation","url":"u","state":"CLOSED","timeRange":{"startAt":null,"endAt":null}}', 'h', 1, 1, NULL),
  ('landes', 'SDEL', 'PDEL', 0, '{"__typename":"CollectStep","id":"SDEL","title":"x","url":"u","state":"CLOSED","timeRange":{"startAt":"2022-01-01 00:00:00","endAt":"2022-02-01 00:00:00"}}', 'h', 1, 1, NULL);

INSERT INTO raw.proposals VALUES
  ('landes', 'PR1', 'P1', 'S1', 'U1', '{"id":"PR1","reference":"1-1","title":"Jardin partagé","url":"u1","createdAt":"2023-03-26 02:30:00","publishedAt":"2023-03-26 03:30:00","published":true,"draft":false,"trashed":false,"address":{"formatted":"Mont-de-Marsan","lat":43.89,"lng":-0.5},"category":{"name":"Environnement"},"theme":{"id":"t1","title":"Nature"},"selections":[{"step":{"id":"S2"},"status":{"id":"st1","name":"Soumis au vote","color":"INFO"}},{"step":{"id":"S3"},"status":{"id":"st2","name":"Vote gagné","color":"SUCCESS"}}],"votes":{"totalCount":3},"responses":[{"__typename":"ValueResponse","question":{"__typename":"SimpleQuestion","id":"Q1","title":"Coût estimé"},"value":"250 000 €","formattedValue":"250 000 €"},{"__typename":"ValueResponse","question":{"__typename":"MultipleChoiceQuestion","id":"Q2","title":"Quartier"},"value":"{\"labels\":[\"Nord\",\"Centre\"],\"other\":null}","formattedValue":"Nord, Centre"}]}', 'h', 1, 1, NULL),
  ('landes', 'PR2', 'P1', 'S1', 'U2', '{"id":"PR2","reference":"1-2","title":"Piste cyclable","url":"u2","createdAt":"2023-03-25 10:00:00","publishedAt":"2023-03-25 10:00:00","published":true,"trashed":false,"category":{"name":"Environnement"},"theme":{"id":"t2","title":"Mobilité"},"selections":[{"step":{"id":"S2"},"status":{"name":"Soumis au vote"}},{"step":{"id":"S3"},"status":{"name":"Lauréat"}}],"votes":{"totalCount":3},"decision":{"estimatedCost":12000},"assessment":{"estimatedCost":99999},"responses":[{"__typename":"ValueResponse","question":{"id":"Q1","title":"Coût estimé"},"value":"1.5 M€"}]}', 'h', 1, 1, NULL),
  ('landes', 'PR3', 'P1', 'S1', 'U1', '{"id":"PR3","reference":"1-3","title":"Skatepark","url":"u3","createdAt":"2023-03-10 12:00:00","publishedAt":"2023-03-10 12:00:00","published":true,"trashed":false,"category":{"name":"Sport"},"theme":null,"selections":[{"step":{"id":"S2"},"status":{"name":"Soumis au vote"}}],"votes":{"totalCount":2},"responses":[{"__typename":"ValueResponse","question":{"id":"Q1","title":"Coût estimé"},"value":"selon devis"}]}', 'h', 1, 1, NULL),
  ('landes', 'PR4', 'P1', 'S1', NULL, '{"id":"PR4","reference":"1-4","title":"Spam","url":"u4","createdAt":"2023-03-11 12:00:00","publishedAt":"2023-03-11 12:00:00","published":true,"trashed":true,"trashedStatus":"INVISIBLE","category":null,"selections":[],"votes":{"totalCount":1},"responses":[]}', 'h', 1, 1, NULL),
  ('landes', 'PR5', 'P1', 'S1', 'U3', '{"id":"PR5","reference":"1-5","title":"Bancs","url":"u5","createdAt":"2023-03-12 12:00:00","publishedAt":"2023-03-12 12:00:00","published":true,"trashed":false,"category":{"name":"Sport"},"selections":[],"votes":{"totalCount":0},"responses":[]}', 'h', 1, 1, NULL),
  ('landes', 'PR6', 'P1', 'S1', 'U1', '{"id":"PR6","reference":"1-6","title":"Supprimée","url":"u6","createdAt":"2023-03-12 12:00:00","publishedAt":"2023-03-12 12:00:00","trashed":false,"selections":[],"votes":{"totalCount":0}}', 'h', 1, 1, 2);

INSERT INTO raw.proposal_steps VALUES
  ('landes', 'PR1@S1', 'PR1', 'S1', 'collect', '{}', 'h', 1, 1, NULL),
  ('landes', 'PR1@S2', 'PR1', 'S2', 'selection', '{}', 'h', 1, 1, NULL),
  ('landes', 'PR1@S3', 'PR1', 'S3', 'selection', '{}', 'h', 1, 1, NULL),
  ('landes', 'PR2@S1', 'PR2', 'S1', 'collect', '{}', 'h', 1, 1, NULL),
  ('landes', 'PR2@S2', 'PR2', 'S2', 'selection', '{}', 'h', 1, 1, NULL),
  ('landes', 'PR2@S3', 'PR2', 'S3', 'selection', '{}', 'h', 1, 1, NULL),
  ('landes', 'PR3@S1', 'PR3', 'S1', 'collect', '{}', 'h', 1, 1, NULL),
  ('landes', 'PR3@S2', 'PR3', 'S2', 'selection', '{}', 'h', 1, 1, NULL);

INSERT INTO raw.proposal_votes VALUES
  ('landes', '101', 'PR1', '{"id":"101","createdAt":"2023-10-05 10:00:00","published":true,"anonymous":false}', 'h', 1, 1, NULL),
  ('landes', '102', 'PR1', '{"id":"102","createdAt":"2023-10-28 12:00:00","published":true,"anonymous":true}', 'h', 1, 1, NULL),
  ('landes', '103', 'PR1', '{"id":"103","createdAt":"2023-10-29 02:30:00","published":true,"anonymous":false}', 'h', 1, 1, NULL),
  ('landes', '201', 'PR2', '{"id":"201","createdAt":"2023-10-10 10:00:00","published":true,"anonymous":false}', 'h', 1, 1, NULL),
  ('landes', '202', 'PR2', '{"id":"202","createdAt":"2023-10-26 09:00:00","published":true,"anonymous":false}', 'h', 1, 1, NULL),
  ('landes', '203', 'PR2', '{"id":"203","createdAt":"2023-10-31 23:00:00","published":true,"anonymous":false}', 'h', 1, 1, NULL),
  ('landes', '301', 'PR3', '{"id":"301","createdAt":"2023-10-02 08:00:00","published":true,"anonymous":false}', 'h', 1, 1, NULL),
  ('landes', '302', 'PR3', '{"id":"302","createdAt":"2023-03-20 10:00:00","published":true,"anonymous":false}', 'h', 1, 1, NULL),
  ('landes', '303', 'PR3', '{"id":"303","createdAt":"2023-10-04 08:00:00","published":false,"anonymous":false}', 'h', 1, 1, NULL),
  ('landes', '304', 'PR3', '{"id":"304","createdAt":"2023-10-04 09:00:00","published":true,"anonymous":false}', 'h', 1, 1, 2),
  ('landes', '401', 'PR4', '{"id":"401","createdAt":"2023-10-03 08:00:00","published":true,"anonymous":false}', 'h', 1, 1, NULL),
  ('landes', '402', 'PR4', '{"id":"402","createdAt":"2023-03-26 02:30:00","published":true,"anonymous":false}', 'h', 1, 1, NULL),
  ('landes', '601', 'PR6', '{"id":"601","createdAt":"2023-10-03 08:00:00","published":true,"anonymous":false}', 'h', 1, 1, NULL);

INSERT INTO raw.users VALUES
  ('landes', 'U1', '{"id":"U1","url":"https://landes.example/profile/jdupont","username":"jdupont","createdAt":"2022-12-01 08:00:00","deletedAccountAt":null,"enabled":true,"userType":{"id":"1","name":"Citoyen"}}', 'h', 1, 1, NULL),
  ('landes', 'U2', '{"id":"U2","url":"u","username":null,"createdAt":"2022-12-02 08:00:00","deletedAccountAt":"2024-01-01 00:00:00","enabled":true,"userType":null}', 'h', 1, 1, NULL),
  ('landes', 'U3', '{"id":"U3","url":"u","username":"asso","createdAt":"2022-12-03 08:00:00","enabled":true,"userType":{"id":"2","name":"Association"}}', 'h', 1, 1, NULL);

INSERT INTO raw.events VALUES
  ('landes', 'E1', '{"id":"E1","url":"u","title":"Réunion publique","createdAt":"2023-02-01 10:00:00","enabled":true,"timeRange":{"startAt":"2023-03-15 18:00:00","endAt":"2023-03-15 20:00:00"},"googleMapsAddress":{"formatted":"Dax","lat":43.7,"lng":-1.05},"author":{"id":"U1"}}', 'h', 1, 1, NULL),
  ('landes', 'E2', '{"id":"E2","url":"u","title":"Brouillon","enabled":false,"timeRange":{"startAt":null,"endAt":null}}', 'h', 1, 1, NULL);
INSERT INTO raw.event_projects VALUES
  ('landes', 'E1@P1', 'E1', 'P1', '{}', 'h', 1, 1, NULL),
  ('landes', 'E2@P1', 'E2', 'P1', '{}', 'h', 1, 1, NULL);

INSERT INTO raw.districts VALUES
  ('landes', 'D1', '{"id":"D1","name":"Nord","slug":"nord","displayedOnMap":true,"geojson":"{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[1,1],[0,0]]]}"}', 'h', 1, 1, NULL),
  ('landes', 'D2', '{"id":"D2","name":"Sud","slug":"sud","displayedOnMap":false,"geojson":null}', 'h', 1, 1, NULL);

-- occitanie ------------------------------------------------------------
INSERT INTO raw.projects VALUES
  ('occitanie', 'P10', '{"id":"P10","title":"Consultation 2024","url":"u","publishedAt":"2024-01-10 09:00:00","type":{"title":"Consultation"},"contributions":{"totalCount":3},"votes":{"totalCount":0},"contributors":{"totalCount":4}}', 'h', 1, 1, NULL);
INSERT INTO raw.steps VALUES
  ('occitanie', 'S10', 'P10', 0, '{"__typename":"ConsultationStep","id":"S10","title":"Consultation","url":"u","state":"CLOSED","timeRange":{"startAt":"2024-01-15 00:00:00","endAt":"2024-02-15 23:59:59"},"votesCount":0}', 'h', 1, 1, NULL),
  ('occitanie', 'S11', 'P10', 1, '{"__typename":"QuestionnaireStep","id":"S11","title":"Questionnaire","url":"u","state":"CLOSED","timeRange":{"startAt":"2024-01-15 00:00:00","endAt":"2024-02-15 23:59:59"},"questionnaire":{"id":"QN1","title":"Vos priorités"}}', 'h', 1, 1, NULL);
INSERT INTO raw.contributions VALUES
  ('occitanie', 'O1', 'P10', '{"__typename":"Opinion","id":"O1","url":"u","createdAt":"2024-01-20 10:00:00","published":true,"publishedAt":"2024-01-20 10:00:00","title":"Plus de trains"}', 'h', 1, 1, NULL),
  ('occitanie', 'O2', 'P10', '{"__typename":"Opinion","id":"O2","url":"u","createdAt":"2024-03-01 10:00:00","published":true,"publishedAt":"2024-03-01 10:00:00","title":"Hors délai"}', 'h', 1, 1, NULL),
  ('occitanie', 'A1', 'P10', '{"__typename":"Argument","id":"A1","url":"u","createdAt":"2024-01-21 10:00:00","published":true,"type":"FOR","trashed":false,"related":{"id":"O1"}}', 'h', 1, 1, NULL);
INSERT INTO raw.replies VALUES
  ('occitanie', 'R1', 'P10', 'S11', 'QN1', 'U10', '{"id":"R1","createdAt":"2024-01-16 10:00:00","publishedAt":"2024-01-16 10:00:00","published":true,"draft":false,"url":"u","responses":[]}', 'h', 1, 1, NULL),
  ('occitanie', 'R2', 'P10', 'S11', 'QN1', 'U11', '{"id":"R2","createdAt":"2024-01-16 11:00:00","publishedAt":"2024-01-16 11:00:00","published":true,"draft":false,"url":"u","responses":[]}', 'h', 1, 1, NULL);

-- ville-test -----------------------------------------------------------
INSERT INTO raw.projects VALUES
  ('ville-test', 'P20', '{"id":"P20","title":"BP ville 2022","url":"u","publishedAt":"2022-01-10 09:00:00","type":{"title":"Budget participatif"},"contributions":{"totalCount":0},"votes":{"totalCount":10},"contributors":{"totalCount":0}}', 'h', 1, 1, NULL);
INSERT INTO raw.steps VALUES
  ('ville-test', 'S20', 'P20', 0, '{"__typename":"CollectStep","id":"S20","title":"Dépôt","url":"u","state":"CLOSED","timeRange":{"startAt":"2022-02-01 00:00:00","endAt":"2022-02-28 23:59:59"}}', 'h', 1, 1, NULL),
  ('ville-test', 'S21', 'P20', 1, '{"__typename":"SelectionStep","id":"S21","title":"Vote","url":"u","state":"CLOSED","timeRange":{"startAt":"2022-05-01 00:00:00","endAt":"2022-05-31 23:59:59"}}', 'h', 1, 1, NULL);
INSERT INTO raw.proposals VALUES
  ('ville-test', 'PR20', 'P20', 'S20', 'U20', '{"id":"PR20","reference":"2-1","title":"Aire de jeux","url":"u","createdAt":"2022-02-10 10:00:00","publishedAt":"2022-02-10 10:00:00","trashed":false,"category":{"name":"Jeunesse"},"selections":[{"step":{"id":"S21"},"status":{"name":"Financé"}}],"votes":{"totalCount":5}}', 'h', 1, 1, NULL),
  ('ville-test', 'PR21', 'P20', 'S20', 'U21', '{"id":"PR21","reference":"2-2","title":"Fontaine","url":"u","createdAt":"2022-02-11 10:00:00","publishedAt":"2022-02-11 10:00:00","trashed":false,"category":{"name":"Jeunesse"},"selections":[{"step":{"id":"S21"},"status":{"name":"Retenu"}}],"votes":{"totalCount":5}}', 'h', 1, 1, NULL);
INSERT INTO raw.proposal_votes
SELECT 'ville-test', CAST(1000 + i AS VARCHAR), CASE WHEN i < 5 THEN 'PR20' ELSE 'PR21' END,
       json_object('id', CAST(1000 + i AS VARCHAR), 'createdAt', strftime(TIMESTAMP '2022-05-02 10:00:00' + i * INTERVAL 1 DAY, '%Y-%m-%d %H:%M:%S'), 'published', true, 'anonymous', false),
       'h', 1, 1, NULL
FROM range(10) t(i);
