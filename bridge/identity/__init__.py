"""Each person as themselves in OpenWebUI: linked keys (encrypted at rest), the policy that decides who
acts as whom, and which account a shared conversation's chat belongs to."""
