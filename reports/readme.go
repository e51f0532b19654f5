package reports

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/capstat/capstat/internal/datasets"
	"github.com/capstat/capstat/reports/release"
)

// buildReadme renders README.md (French then English) with the data
// dictionary taken from the catalogue.
func buildReadme(cat *datasets.Contract, m *release.Manifest, lic release.Licence, p Privacy, partitioned map[string]bool) string {
	var b strings.Builder
	created := m.CreatedAt.UTC().Format(time.RFC3339)
	prev := m.PreviousReleaseID
	if prev == "" {
		prev = "—"
	}
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }

	w("# Capstat — données ouvertes / open data\n\n")
	w("| | |\n|---|---|\n")
	w("| Version / release | `%s` |\n", m.ReleaseID)
	w("| Générée le / generated at | %s |\n", created)
	w("| Version précédente / previous release | `%s` |\n", prev)
	w("| Licence / licence | [%s](%s) |\n\n", lic.Title, lic.Path)
	w("%s\n\n", cat.Attribution)

	w("## Français\n\n")
	w("Ces fichiers décrivent la participation citoyenne sur les plateformes Cap Collectif : projets, étapes, propositions, votes, contributions, comptes pseudonymisés et indicateurs des budgets participatifs.\n\n")
	w("### Contenu\n\n")
	w("- `data/<jeu>/` : fichiers Parquet (compression zstd). Les jeux volumineux sont partitionnés par plateforme (`source=<nom>/`, partitionnement « hive ») : la colonne `source` est alors portée par le nom du dossier.\n")
	w("- `csv/<jeu>.csv` : le même contenu en CSV (UTF-8, RFC 4180, séparateur virgule, ligne d'en-tête, valeur absente = champ vide, dates en UTC au format ISO 8601 à la seconde), pour chaque jeu qui tient dans un tableur (%s lignes au plus).", groupDigits(m.CSVMaxRows, "\u202f"))
	if len(m.DatasetsWithoutCSV) > 0 {
		w(" Sans CSV car trop volumineux : %s ; lisez leurs fichiers Parquet, la base `capstat.duckdb`, ou exportez en CSV le résultat d'une requête filtrée du service de requêtes.", codeList(m.DatasetsWithoutCSV))
	}
	w("\n")
	w("- `datapackage.json` : description Frictionless Data Package (types, clés primaires et étrangères).\n")
	w("- `manifest.json` : liste des fichiers avec taille, nombre de lignes et empreinte SHA-256 ; `changes.json` : lignes ajoutées, modifiées et supprimées depuis la version précédente.\n")
	w("- `capstat.duckdb` : base DuckDB en lecture seule ; chaque jeu y est une vue `main.<jeu>` sur ses fichiers Parquet (chemins relatifs au dossier de la version), plus la vue `release_info`. Ouvrez-la depuis ce dossier, ou indiquez-le : `SET file_search_path = '/chemin/du/dossier';`.\n\n")
	w("### Vie privée\n\n")
	w("Aucune donnée ne permet d'identifier une personne : ni pseudo, ni e-mail, ni biographie, ni adresse de profil, ni identifiant de compte. Les auteurs sont représentés par une clé pseudonyme (`author_key`, HMAC-SHA256 avec un secret qui n'est pas publié).")
	if p.CoarsenVoteTimes {
		w(" L'heure des votes est arrondie à l'heure inférieure.")
	}
	if p.MinGroupSize > 1 {
		w(" Dans `users`, un type de compte qui compte moins de %d comptes sur une plateforme est remplacé par une valeur vide (les lignes sont conservées).", p.MinGroupSize)
	}
	w("\n\n### Lire les données\n\n")
	w("```sql\n-- DuckDB\nSELECT * FROM read_parquet('data/proposal_votes/**/*.parquet', hive_partitioning = true);\n```\n\n")
	w("```python\n# pandas / pyarrow\nimport pandas as pd\ndf = pd.read_parquet(\"data/proposals\")\n```\n\n")
	w("```sql\n-- DuckDB, base de la version / release snapshot : duckdb -readonly capstat.duckdb (depuis ce dossier / from this folder)\nSELECT source, count(*) FROM proposal_votes GROUP BY source;\n```\n\n")

	w("## English\n\n")
	w("These files describe citizen participation on Cap Collectif platforms: projects, steps, proposals, votes, contributions, pseudonymised accounts and participatory-budget metrics.\n\n")
	w("### Contents\n\n")
	w("- `data/<dataset>/`: Parquet files (zstd). Large datasets are hive-partitioned by source (`source=<name>/`): the `source` column is then carried by the folder name.\n")
	w("- `csv/<dataset>.csv`: the same rows as CSV (UTF-8, RFC 4180, comma, header row, missing value = empty field, UTC ISO 8601 timestamps to the second), for every dataset that fits a spreadsheet (%s rows at most).", groupDigits(m.CSVMaxRows, ","))
	if len(m.DatasetsWithoutCSV) > 0 {
		w(" No CSV, too large: %s; read their Parquet files, the `capstat.duckdb` snapshot, or export a filtered query of the query service as CSV.", codeList(m.DatasetsWithoutCSV))
	}
	w("\n")
	w("- `datapackage.json`: Frictionless Data Package (types, primary and foreign keys).\n")
	w("- `manifest.json`: every file with bytes, rows and SHA-256; `changes.json`: rows added, updated and removed since the previous release.\n")
	w("- `capstat.duckdb`: read-only DuckDB snapshot; each dataset is a view `main.<dataset>` over its Parquet files (paths relative to the release folder), plus the view `release_info`. Open it from this folder, or point to it: `SET file_search_path = '/path/to/the/folder';`.\n\n")
	w("### Privacy\n\n")
	w("Nothing identifies a person: no username, e-mail, biography, profile URL or account id. Authors appear as a pseudonymous key (`author_key`, HMAC-SHA256 with a secret that is not published).")
	if p.CoarsenVoteTimes {
		w(" Vote times are truncated to the hour.")
	}
	if p.MinGroupSize > 1 {
		w(" In `users`, a user type with fewer than %d accounts on a source is replaced by an empty value (NULL); the rows are kept.", p.MinGroupSize)
	}
	w("\n\n## Dictionnaire des données / data dictionary\n\n")
	for _, d := range cat.Datasets {
		w("### `%s` — %s\n\n", d.Name, d.Title)
		w("%s\n\n%s\n\n", d.DescriptionFR, d.Description)
		files := "`csv/" + d.Name + ".csv`, `data/" + d.Name + "/`"
		if slices.Contains(m.DatasetsWithoutCSV, d.Name) {
			files = "`data/" + d.Name + "/` (pas de CSV / no CSV)"
		}
		if partitioned[d.Name] {
			files += " (partitions `source=`)"
		}
		w("- Lignes / rows: %d\n- Fichiers / files: %s\n- Clé primaire / primary key: `%s`\n", m.Datasets[d.Name], files, strings.Join(d.PrimaryKey, "`, `"))
		for _, fk := range d.ForeignKeys {
			w("- Clé étrangère / foreign key: `%s` → `%s`\n", strings.Join(fk.Fields, "`, `"), fk.Reference)
		}
		w("\n| Colonne / column | Type | Description (FR) | Description (EN) |\n|---|---|---|---|\n")
		for _, c := range d.Columns {
			w("| `%s` | %s | %s | %s |\n", c.Name, c.Type, cell(c.DescriptionFR), cell(c.Description))
		}
		w("\n")
	}
	return b.String()
}

func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

func codeList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "`" + n + "`"
	}
	return strings.Join(q, ", ")
}

// groupDigits writes n with sep between groups of three digits.
func groupDigits(n int64, sep string) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(r)
	}
	return b.String()
}
