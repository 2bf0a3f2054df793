-- Meldingen per buurt, month and category, with the buurt's outline for maps.
WITH per_maand AS (
    SELECT buurt, date_trunc('month', gemeld_op)::date AS maand, categorie, count(*) AS meldingen
    FROM meldingen
    GROUP BY buurt, maand, categorie
)
SELECT b.code AS buurt, b.naam, b.stadsdeel, p.maand, p.categorie, p.meldingen, b.geom
FROM per_maand p
JOIN buurten b ON b.code = p.buurt
