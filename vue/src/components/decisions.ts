/** The decisions a ReviewModal shows when its Approve button is pressed: the ids of the
 *  changes accepted and rejected (undecided ones in neither). `approve`'s second argument. */
export interface ReviewDecisions {
  accepted: string[];
  rejected: string[];
}
