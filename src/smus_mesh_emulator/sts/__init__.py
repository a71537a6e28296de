"""STS that checks roles: AssumeRole needs an existing role whose trust policy names the
caller (moto lets any AssumeRole succeed).

Modules: `exceptions`, `responses`.
"""
