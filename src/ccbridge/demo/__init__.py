"""`ccbridge demo`: one scripted run through every feature against a real server on loopback.

It exists so a newcomer (or CI) can see in ~20 seconds that the whole bridge works end to end, with
each figure checked rather than eyeballed: `runner.run_demo()` returns 0 only when every expected
figure matched. The scenario is split by area (`scenario_*.py`); `report.py` prints the table.
"""
