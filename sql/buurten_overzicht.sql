-- Every buurt with its inwoners, its meldingen in all and per 1,000 inwoners, and its containers.
SELECT b.code, b.naam, b.stadsdeel, b.inwoners,
       coalesce(m.meldingen, 0) AS meldingen,
       round(1000.0 * coalesce(m.meldingen, 0) / nullif(b.inwoners, 0), 1) AS meldingen_per_1000,
       (SELECT count(*) FROM afvalcontainers c WHERE c.buurt = b.code) AS containers,
       b.geom
FROM buurten b
LEFT JOIN (SELECT buurt, sum(meldingen) AS meldingen FROM meldingen_per_buurt_maand GROUP BY buurt) m ON m.buurt = b.code
