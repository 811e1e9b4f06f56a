"""When automations run: trigger math, the tick, the loop, the automation set."""
