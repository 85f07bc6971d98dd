"""Bulk member import from xlsx/CSV (upload → validation job → preview → commit job) and xlsx
exports of members and the points ledger.

- ``files``: what may be opened (xlsx and CSV only, size cap, zip-bomb guard) and the row stream.
- ``headers``: finding the header row, Thai or English, in any order.
- ``cells``: pure functions that read one cell (phone, points, gender, birthday ...).
- ``planning``: a row → new / update / unchanged / error, against the shop's members.
- ``services``: the job's writes (create, validate, commit, cancel).
- ``exports``: streamed write-only xlsx, formula-safe, easy to extend with new exports.
- ``template``: the downloadable member-template.xlsx.
"""
