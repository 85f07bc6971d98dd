"""Bulk member import from xlsx/CSV (upload → validation job → preview → commit job) and the xlsx
exports of members and the points ledger (registered in ``loyalty.exports``).

- ``files``: what may be opened (xlsx and CSV only, size cap, zip-bomb guard) and the row stream.
- ``sheets``: the xlsx reader (python-calamine), values as ``cells`` reads them.
- ``names``: the names a column is known by, Thai and English; ``headers``: finding the header row.
- ``cells``: pure functions that read one cell (phone, points, gender, birthday ...).
- ``planning``: a row → new / update / unchanged / error, against the shop's members.
- ``passes``: the pass over the file shared by validation and commit; ``committing``: the writes.
- ``services``: the job's public writes (create, validate, confirm, commit, cancel, purge).
- ``exports``: the members and ledger exports; ``template``: the member-template.xlsx (openpyxl).
"""
